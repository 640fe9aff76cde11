"""storyline backfill on a real local Spark (one short-lived session for the module).

The WARC tests build a CC-News-style archive from the real news pages of
``../shared/data/html`` and skip when that folder is absent; the rest use the demo corpus.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'storyline[spark]')")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17+ (scripts/install-system-deps.sh installs openjdk-17-jre-headless)",
                allow_module_level=True)

from conftest import DEMO, ROOT, run_cli  # noqa: E402

from storyline.backfill import expand_sources, run_backfill, with_retries  # noqa: E402
from storyline.backfill.dedup import DedupRules, canonical_ids  # noqa: E402
from storyline.backfill.extract import Staged  # noqa: E402
from storyline.config import Settings  # noqa: E402
from storyline.dedup import MinHashDeduplicator  # noqa: E402
from storyline.models import Article  # noqa: E402
from storyline.pipeline import prepare_batch  # noqa: E402
from storyline.store import open_store  # noqa: E402

DATA = Path(os.environ.get("STORYLINE_SHARED_DATA") or ROOT.parent / "shared" / "data")
PAGES = DATA / "html" / "trafilatura-news"
WARC_PAGES = 40  # pages in the test archive (the full 149-page check is in docs/backfill.md)


@pytest.fixture(scope="module")
def spark():
    from storyline.backfill import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def _settings(path: Path) -> Settings:
    return Settings(data_dir=path)


def _articles(path: Path) -> dict[str, tuple[str, str, str]]:
    store = open_store(_settings(path))
    try:
        return {r["id"]: (r["url"], r["title"], r["text"]) for r in store.iter_articles()}
    finally:
        store.close()


def split_warc(source: Path, folder: Path, parts: int) -> list[Path]:
    """The records of ``source`` copied byte for byte into ``parts`` files (same record ids)."""
    from warcio.archiveiterator import ArchiveIterator

    spans = []
    with open(source, "rb") as handle:
        records = ArchiveIterator(handle)
        for record in records:
            records.read_to_end(record)
            spans.append((records.get_record_offset(), records.get_record_length()))
    data = source.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(spans) // parts)
    out = []
    for i in range(parts):
        path = folder / f"part-{i}.warc.gz"
        path.write_bytes(b"".join(data[o : o + n] for o, n in spans[i * size : (i + 1) * size]))
        out.append(path)
    return out


@pytest.fixture(scope="module")
def news_warc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    if not (PAGES / "expectations.jsonl").exists():
        pytest.skip(f"shared test data not found at {PAGES} (see ../shared/data/README.md)")
    from ingest_helpers import page_url, write_warc

    rows = [json.loads(line) for line in (PAGES / "expectations.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = [(page_url(r), gzip.decompress((PAGES / "html" / (r["file"] + ".gz")).read_bytes())) for r in rows[:WARC_PAGES]]
    folder = tmp_path_factory.mktemp("warc")
    whole = folder / "news.warc.gz"
    write_warc(whole, pages)
    return whole, split_warc(whole, folder / "split", 4)


def test_split_warc_backfill_stores_what_ingest_stores_and_a_rerun_adds_nothing(spark, news_warc, tmp_path: Path) -> None:
    whole, parts = news_warc
    ingested = run_cli("ingest", str(whole), "--data-dir", str(tmp_path / "ingest"))
    assert ingested.returncode == 0, ingested.stderr
    lines: list[str] = []
    report = run_backfill([str(p.parent) for p in parts[:1]], _settings(tmp_path / "bf"), spark=spark, say=lines.append)
    assert report.files == 4 and report.errors == [] and report.new == report.articles > 0
    expected = _articles(tmp_path / "ingest")
    got = _articles(tmp_path / "bf")
    assert len(expected) == WARC_PAGES and got == expected  # same ids, URLs, titles and bodies
    assert any(line.startswith("duplicates:") for line in lines) and any(line.startswith("stories:") for line in lines)
    store = open_store(_settings(tmp_path / "bf"))
    try:
        counts = store.counts()
        assert counts["stories"] == report.stories and not store.db.execute("SELECT count(*) FROM stories WHERE dirty = 1").fetchone()[0]
    finally:
        store.close()

    again = run_backfill([str(p) for p in parts], _settings(tmp_path / "bf"), spark=spark, say=lines.append)
    assert again.new == 0 and again.files_skipped == 4 and lines[-1].startswith("nothing new")
    assert _articles(tmp_path / "bf") == expected


def _worker_pids() -> list[int]:
    """Python workers forked by this test's Spark (children of a pyspark.daemon under this process)."""
    def cmdline(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""

    def parent(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parent(pid)
            if pid == os.getpid():
                return True
        return False

    daemons = [p for p in (int(d) for d in os.listdir("/proc") if d.isdigit()) if "pyspark.daemon" in cmdline(p)]
    return [p for p in daemons if parent(p) in daemons and ours(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Spark's workers through /proc")
def test_killing_a_python_worker_loses_and_doubles_nothing(spark, news_warc, tmp_path: Path) -> None:
    whole, parts = news_warc
    settings = _settings(tmp_path / "bf")
    outcome: dict[str, object] = {}

    def backfill() -> None:
        try:
            outcome["report"] = run_backfill([str(p) for p in parts], settings, spark=spark, say=lambda m: None)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=backfill)
    thread.start()
    killed = None
    stage = tmp_path / "bf" / "backfill"
    deadline = time.monotonic() + 120
    while killed is None and thread.is_alive() and time.monotonic() < deadline:
        staged = list(stage.glob("*.json")) if stage.exists() else []
        workers = _worker_pids()
        if workers and len(staged) < len(parts):  # the file tasks are running
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    thread.join(600)
    assert killed is not None, "no Spark Python worker was seen while the files were read"
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    got = _articles(tmp_path / "bf")
    store = open_store(settings)
    try:
        rows = store.db.execute("SELECT count(*), count(DISTINCT id), count(DISTINCT url) FROM articles").fetchone()
    finally:
        store.close()
    assert len(got) == WARC_PAGES == report.new  # type: ignore[attr-defined]
    assert tuple(rows) == (WARC_PAGES, WARC_PAGES, WARC_PAGES)


def test_a_bad_record_is_one_error_naming_file_and_offset_and_the_rest_is_stored(spark, news_warc, tmp_path: Path) -> None:
    _, parts = news_warc
    broken = tmp_path / "broken.warc.gz"
    data = parts[1].read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # cut mid-record, like a failed download
    lines: list[str] = []
    report = run_backfill([str(parts[0]), str(broken), str(tmp_path / "missing.warc.gz")], _settings(tmp_path / "bf"),
                          spark=spark, say=lines.append)
    errors = [line for line in lines if line.startswith("error:")]
    assert any(str(broken) + "#" in line for line in errors), errors
    assert any("missing.warc.gz" in line and "no such file" in line for line in errors)
    assert report.new == report.articles >= 10  # the first file whole, and the broken file up to the cut


ARTICLE_FIELDS = ("id", "url", "title", "text", "canonical_id", "story_id", "language", "published", "source")
STORY_FIELDS = ("id", "headline", "summary", "size", "duplicates", "outlets", "articles")


def _snapshot(settings: Settings) -> tuple[list[tuple], list[tuple], dict[str, str]]:
    """What a reader sees of a store: articles, stories with their summaries, merges."""
    store = open_store(settings)
    try:
        articles = [tuple(str(a.get(k)) for k in ARTICLE_FIELDS) for a in store.iter_articles()]
        stories = sorted(tuple(str(s[k]) for k in STORY_FIELDS) for s in store.iter_stories())
        return sorted(articles), stories, store.merges()
    finally:
        store.close()


@pytest.fixture(scope="module")
def demo_split(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo corpus minus its last 12 items in two JSONL files; the 12 held back; the whole."""
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    held = records[-12:]
    root = tmp_path_factory.mktemp("demo")
    folder = root / "in"
    folder.mkdir()
    half = (len(records) - len(held)) // 2
    for i, chunk in enumerate((records[:half], records[half:-len(held)])):
        (folder / f"part-{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chunk), encoding="utf-8")
    (root / "late.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held), encoding="utf-8")
    (root / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return {"root": root, "folder": folder, "records": records, "held": {r["id"] for r in held}}


@pytest.fixture(scope="module")
def demo_sqlite_backfill(spark, demo_split) -> Path:  # type: ignore[no-untyped-def]
    """The demo files backfilled once into SQLite (tests copy the data dir before writing to it)."""
    data_dir = Path(demo_split["root"]) / "bf-sqlite"  # type: ignore[arg-type]
    report = run_backfill([str(demo_split["folder"])], _settings(data_dir), spark=spark, say=lambda m: None)
    assert report.errors == [] and report.new == report.articles == len(demo_split["records"]) - 12  # type: ignore[arg-type]
    return data_dir


def _groups(settings: Settings) -> set[frozenset[str]]:
    store = open_store(settings)
    try:
        # ids a file gives are stored under that file's name (`<file>-<hash>:<id>`): compare the given ids
        return {frozenset(a.split(":", 1)[-1] for a in s["articles"]) for s in store.iter_stories()}
    finally:
        store.close()


def test_live_ingest_after_a_backfill_extends_its_stories(spark, demo_split, demo_sqlite_backfill, backend: str,
                                                         request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """The demo corpus minus its last items backfilled from two files; the held-out items, ingested
    live afterwards, land in the stories a plain ingest of the whole corpus puts them in. On
    PostgreSQL (``--database-url``) the backfill first stores exactly what it stores in SQLite."""
    from conftest import backend_settings, store_args

    if backend == "sqlite":
        shutil.copytree(demo_sqlite_backfill, tmp_path / "bf")
        settings = _settings(tmp_path / "bf")
        # the summaries computed on executors are the ones the engine computes on the writer
        before = _snapshot(settings)
        from storyline.engine import open_engine

        engine = open_engine(settings, command="test")
        try:
            ids = [s["id"] for s in engine.store.iter_stories()]
            vectors = engine.store.db.execute("SELECT story_id, dense, terms FROM story_vectors ORDER BY 1").fetchall()
            with engine.writing("test"):
                assert engine.refresh_stories(ids) == len(ids) > 0
            assert [tuple(r) for r in engine.store.db.execute(
                "SELECT story_id, dense, terms FROM story_vectors ORDER BY 1").fetchall()] == [tuple(r) for r in vectors]
        finally:
            engine.store.close()
        assert _snapshot(settings) == before
    else:
        settings = backend_settings(backend, tmp_path / "bf", request)
        lines: list[str] = []
        report = run_backfill([str(demo_split["folder"])], settings, spark=spark, say=lines.append)
        assert report.errors == [] and report.new == report.articles > 0
        assert any(line.startswith("store:") for line in lines)
        # same articles (ids, bodies, canonicals, stories), same stories and summaries, same merges
        assert _snapshot(settings) == _snapshot(_settings(demo_sqlite_backfill))
        again = run_backfill([str(demo_split["folder"])], settings, spark=spark, say=lines.append)
        assert again.new == 0 and lines[-1].startswith("nothing new")
    from storyline.cluster import default_clusterer
    from storyline.engine import STATE_NAME, Engine

    store = open_store(settings)
    try:  # the saved state carries the engine's own maker key, so `ingest` resumes from it
        saved = store.load_state(STATE_NAME)
        assert saved is not None and saved.maker
        assert saved.maker == Engine(store, settings).maker(default_clusterer(settings))
        assert store.generation() > 0
        assert not any(store.dirty_story_ids())
    finally:
        store.close()
    root = Path(demo_split["root"])  # type: ignore[arg-type]
    late = run_cli("ingest", str(root / "late.jsonl"), *store_args(settings))
    assert late.returncode == 0, late.stderr
    assert "rebuild" not in late.stderr  # no state-mismatch refusal
    one = _settings(tmp_path / "one")
    assert run_cli("ingest", str(root / "all.jsonl"), "--data-dir", str(one.data_dir)).returncode == 0

    live, whole = _groups(settings), _groups(one)
    held_ids: set[str] = demo_split["held"]  # type: ignore[assignment]
    # every held-out item that joined a story of earlier items in the one-process run does so here
    joined = [g for g in whole if g & held_ids and g - held_ids]
    assert joined, "the held-out items should extend demo stories"
    for group in joined:
        assert any(group - held_ids <= g and group & held_ids <= g for g in live), sorted(group)
    assert sum(len(g) for g in live) == len(demo_split["records"])  # type: ignore[arg-type]


def test_duplicates_across_the_set_follow_the_streaming_rules(spark) -> None:
    """Exact and near copies spread over files: Spark's banded join decides as the streaming
    deduplicator does in the same order."""
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    arts = [Article(id=r["id"], title=r["title"], text=r.get("text", "")) for r in records]
    extra = []
    for i, a in enumerate(arts[:30]):
        words = a.text.split()
        if i % 3 == 0:
            extra.append(Article(id=f"copy-{i}", title=a.title, text=a.text))  # exact
        elif i % 3 == 1 and len(words) > 40:
            extra.append(Article(id=f"near-{i}", title=a.title, text=" ".join(words[:-3]) + " Subscribe for more."))
    stream = arts + extra
    dedup = MinHashDeduplicator()
    ready = prepare_batch(stream, dedup.preparer(), None)
    staged = [Staged((float("-inf"), 0, i), a, ready.dedup[i], None) for i, a in enumerate(stream)]
    expected = MinHashDeduplicator().partial_fit(stream).canonical
    rdd, counts = canonical_ids(spark.sparkContext.parallelize(staged, 4), DedupRules.of(dedup))
    got = {item.article.id: canon for item, canon in rdd.collect()}
    assert [got[a.id] for a in stream] == expected
    assert sum(a.id != c for a, c in zip(stream, expected)) >= 15 and counts["near_copies"] >= 1


def test_sources_expand_folders_globs_and_listings(tmp_path: Path) -> None:
    for name in ("a.warc.gz", "b.warc", "c.jsonl", "notes.md"):
        (tmp_path / name).write_bytes(b"")
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress(b"crawl-data/CC-NEWS/2024/01/CC-NEWS-20240101.warc.gz\nb.warc\n\n"))
    files, errors = expand_sources([str(tmp_path / "*.warc*"), str(listing), str(tmp_path / "c.jsonl"),
                                    str(tmp_path / "nope")])
    paths = [f.path for f in files]
    assert paths == [str(tmp_path / "a.warc.gz"), str(tmp_path / "b.warc"),
                     "https://data.commoncrawl.org/crawl-data/CC-NEWS/2024/01/CC-NEWS-20240101.warc.gz",
                     str(tmp_path / "c.jsonl")]
    assert [f.kind for f in files] == ["warc", "warc", "warc", "articles"]
    assert [e.where for e in errors] == [str(tmp_path / "nope")]
    assert with_retries("local[2]") == "local[2,4]" and with_retries("local[*]") == "local[*,4]"
    assert with_retries("local") == "local[1,4]" and with_retries("spark://h:7077") == "spark://h:7077"


def test_without_pyspark_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "pyspark.py").write_text("raise ImportError('blocked for this test')\n")
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    result = subprocess.run([sys.executable, "-m", "storyline", "backfill", str(DEMO), "--data-dir", str(tmp_path / "d")],
                            capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == ("storyline: error: storyline backfill needs PySpark: "
                                                      "pip install 'storyline[spark]' (and Java 17 or newer)")
