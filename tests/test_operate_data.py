"""Your data: backup while an ingest runs (real concurrent process), restore into a new data dir,
forget by outlet, id and feed, feeds remove keeping or dropping articles; logs; the systemd unit."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import DEMO, ROOT, run_cli
from ingest_helpers import LoopbackServer, Route
from operate_helpers import count, rss, texts
from storyline.config import Settings
from storyline.web import create_app
from storyline.web.server import ServerThread

OUTLET = "Valley Wire Service"  # an outlet of the demo corpus, with copies of its reports elsewhere


def _jsonl(path: Path, which: str, data_dir: Path) -> list[dict]:
    out = run_cli("export", which, "--data-dir", str(data_dir))
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _story_list_sha256(db: Path) -> str:
    """The story list as `storyline stories` knows it, hashed the way docs/operate.md says."""
    con = sqlite3.connect(db)
    rows = [list(r) for r in con.execute("SELECT id, headline, size, duplicates, outlets FROM stories ORDER BY id")]
    con.close()
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.slow
def test_backup_while_an_ingest_runs_then_restore(tmp_path):
    source, restored = tmp_path / "source", tmp_path / "restored"
    articles = tmp_path / "articles.jsonl"
    with open(articles, "w", encoding="utf-8") as fh:
        for i, (title, text) in enumerate(texts(1500, seed=11)):
            fh.write(json.dumps({"id": f"a{i:05d}", "title": title, "text": text, "source": f"Outlet {i % 7}"}) + "\n")
    ingest = subprocess.Popen([sys.executable, "-m", "storyline", "ingest", str(articles), "--data-dir", str(source)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        db = source / "storyline.db"
        deadline = time.monotonic() + 180
        while count(db, "SELECT count(*) FROM articles") < 256 and time.monotonic() < deadline:
            assert ingest.poll() is None, ingest.stderr.read() if ingest.stderr else ""
            time.sleep(0.1)
        backup = run_cli("backup", str(tmp_path / "copy.db"), "--json", "--data-dir", str(source))
        assert ingest.poll() is None, "the ingest ended before the backup: make the input bigger"
        assert backup.returncode == 0, backup.stderr
    finally:
        ingest.wait(timeout=300)
    assert ingest.returncode == 0
    taken = json.loads(backup.stdout)
    assert taken["integrity"] == "ok" and 256 <= taken["articles"] < 1500

    back = run_cli("restore", str(tmp_path / "copy.db"), "--json", "--data-dir", str(restored))
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["story_list_sha256"] == taken["story_list_sha256"]
    con = sqlite3.connect(restored / "storyline.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = [r[0] for r in con.execute("SELECT id FROM articles ORDER BY seq")]
    batches = [r[0] for r in con.execute("SELECT count(*) FROM articles GROUP BY added_batch")]
    con.close()
    # the story list equals the source's at the backup's moment (read in the snapshot copied)
    assert _story_list_sha256(restored / "storyline.db") == taken["story_list_sha256"]
    assert len(ids) == taken["articles"] and set(batches) == {256}  # whole batches only
    final = [a["id"] for a in _jsonl(tmp_path, "articles", source)]
    assert len(final) == 1500 and ids == final[: len(ids)]  # a moment of the source's history

    listed = run_cli("stories", "--json", "--limit", "5", "--data-dir", str(restored))
    assert listed.returncode == 0 and len(json.loads(listed.stdout)["stories"]) == 5

    again = run_cli("restore", str(tmp_path / "copy.db"), "--data-dir", str(restored))
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert run_cli("restore", str(tmp_path / "copy.db"), "--force", "--data-dir", str(restored)).returncode == 0
    over = run_cli("backup", str(tmp_path / "copy.db"), "--data-dir", str(source))
    assert over.returncode == 1 and "exists" in over.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    refused = run_cli("restore", str(junk), "--data-dir", str(tmp_path / "other"))
    assert refused.returncode == 1 and "not a storyline backup" in refused.stderr


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    done = run_cli("ingest", str(DEMO), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return data_dir


def test_forget_an_outlet(demo_store, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(demo_store, data_dir)
    before = _jsonl(tmp_path, "articles", data_dir)
    theirs = {a["id"] for a in before if a["source"] == OUTLET}
    assert len(theirs) >= 5 and any(a["reprint_of"] in theirs for a in before if a["source"] != OUTLET)

    dry = run_cli("forget", "--outlet", OUTLET, "--dry-run", "--json", "--data-dir", str(data_dir))
    assert dry.returncode == 0 and set(json.loads(dry.stdout)["removed"]) == theirs
    assert len(_jsonl(tmp_path, "articles", data_dir)) == len(before)

    done = run_cli("forget", "--outlet", OUTLET, "--reason", "the outlet asked us to", "--json", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["removed"]) == theirs and report["stories_recomputed"]

    after = _jsonl(tmp_path, "articles", data_dir)
    assert not [a for a in after if a["source"] == OUTLET]
    assert len(after) == len(before) - len(theirs)
    remaining = {a["id"]: a for a in after}
    assert all(a["reprint_of"] is None or a["reprint_of"] in remaining for a in after)  # copies found a new original
    for story in _jsonl(tmp_path, "stories", data_dir):
        assert set(story["articles"]) <= set(remaining)
        originals = [i for i in story["articles"] if remaining[i]["reprint_of"] is None]
        assert story["size"] == len(originals) and story["duplicates"] == len(story["articles"]) - len(originals)
        for sentence in story["sentences"]:
            assert sentence["source"] != OUTLET and sentence["article_id"] not in theirs
            source = remaining[sentence["article_id"]]
            assert sentence["text"] in source["title"] + " " + source["text"]  # a sentence of an article that stays

    log = json.loads(run_cli("forget", "--log", "--limit", "1000", "--data-dir", str(data_dir)).stdout)["removals"]
    assert {r["article_id"] for r in log} == theirs
    assert all(r["reason"] == "the outlet asked us to" and r["selector"] == f"outlet={OUTLET}" for r in log)
    con = sqlite3.connect(data_dir / "storyline.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")  # raises when the index is off
    con.close()


def test_forget_the_only_article_of_a_story_makes_it_404(demo_store, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(demo_store, data_dir)
    story = next(s for s in _jsonl(tmp_path, "stories", data_dir) if len(s["articles"]) == 1)
    with ServerThread(create_app(Settings(data_dir=data_dir))) as url:
        assert httpx.get(f"{url}/stories/{story['id']}", timeout=10).status_code == 200
        done = run_cli("forget", "--id", story["articles"][0], "--id", "no-such-article", "--json", "--data-dir", str(data_dir))
        assert done.returncode == 0, done.stderr
        assert "no stored article matches id=no-such-article" in done.stderr
        assert json.loads(done.stdout)["stories_emptied"] == [story["id"]]
        assert httpx.get(f"{url}/stories/{story['id']}", timeout=10).status_code == 404
        assert httpx.get(f"{url}/api/stories/{story['id']}", timeout=10).status_code == 404
    assert story["id"] not in {s["id"] for s in _jsonl(tmp_path, "stories", data_dir)}
    nothing = run_cli("forget", "--data-dir", str(data_dir))
    assert nothing.returncode == 1 and "--outlet" in nothing.stderr


def test_feeds_remove_keeps_or_drops_articles(tmp_path):
    data_dir = tmp_path / "data"
    a_items = [(f"a{i}", t, x) for i, (t, x) in enumerate(texts(4, seed=1, prefix="Alpha"))]
    b_items = [(f"b{i}", t, x) for i, (t, x) in enumerate(texts(3, seed=2, prefix="Beta"))]
    with LoopbackServer() as server:
        server.routes["/a"] = Route(body=rss(a_items, "Alpha"))
        server.routes["/b"] = Route(body=rss(b_items, "Beta"))
        a, b = server.url("/a"), server.url("/b")
        read = run_cli("ingest", a, b, "--allow-private-network", "--no-fetch-pages", "--data-dir", str(data_dir))
        assert read.returncode == 0, read.stderr
    assert len(_jsonl(tmp_path, "articles", data_dir)) == 7

    kept = run_cli("feeds", "remove", a, "--data-dir", str(data_dir))
    assert kept.returncode == 0 and "their articles stay" in kept.stderr
    dropped = run_cli("feeds", "remove", b, "--drop-articles", "--reason", "spam", "--data-dir", str(data_dir))
    assert dropped.returncode == 0 and "forgot 3 article(s)" in dropped.stderr
    left = _jsonl(tmp_path, "articles", data_dir)
    assert len(left) == 4 and {x["origin"] for x in left} == {a}
    assert json.loads(run_cli("feeds", "--json", "--data-dir", str(data_dir)).stdout)["feeds"] == []
    log = json.loads(run_cli("forget", "--log", "--data-dir", str(data_dir)).stdout)["removals"]
    assert len(log) == 3 and all(r["selector"] == f"feed={b}" and r["reason"] == "spam" for r in log)
    missing = run_cli("feeds", "remove", b, "--data-dir", str(data_dir))
    assert missing.returncode == 1 and "not subscribed" in missing.stderr
    both = run_cli("feeds", "remove", a, "--drop-articles", "--keep-articles", "--data-dir", str(data_dir))
    assert both.returncode == 2


def test_log_level_and_json_lines(tmp_path):
    opml = tmp_path / "list.opml"
    opml.write_text('<opml version="2.0"><body><outline type="rss" text="x" xmlUrl="https://example.org/f"/></body></opml>',
                    encoding="utf-8")
    plain = run_cli("digest", str(opml))
    assert "storyline: warning: " in plain.stderr and "OPML lists 1 feed(s)" in plain.stderr
    lines = [json.loads(line) for line in run_cli("digest", str(opml), "--log-json").stderr.splitlines() if line.startswith("{")]
    assert [(r["level"], r["logger"]) for r in lines] == [("warning", "storyline.ingest")]
    assert "OPML lists 1 feed(s)" in lines[0]["message"] and lines[0]["time"].endswith("+00:00")
    assert "OPML" not in run_cli("digest", str(opml), "-q").stderr
    assert "OPML" not in run_cli("-q", "digest", str(opml)).stderr
    assert "OPML" not in run_cli("digest", str(opml), env={"STORYLINE_LOG_LEVEL": "error"}).stderr
    assert "OPML" in run_cli("digest", str(opml), "-v", env={"STORYLINE_LOG_LEVEL": "error"}).stderr  # flags win
    bad = run_cli("digest", str(opml), env={"STORYLINE_LOG_LEVEL": "loud"})
    assert bad.returncode == 2 and "STORYLINE_LOG_LEVEL='loud' is not a log level" in bad.stderr


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (Debian package systemd)")
    unit = (ROOT / "deploy" / "storyline.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/storyline/venv/bin/storyline run " in unit
    for option in ("DynamicUser=yes", "StateDirectory=storyline", "ProtectSystem=strict", "KillSignal=SIGTERM"):
        assert option in unit
    # verify checks that ExecStart's program exists: point it at this machine's Python, nothing else changes
    (tmp_path / "storyline.service").write_text(
        unit.replace("/opt/storyline/venv/bin/storyline run", f"{sys.executable} -m storyline run"), encoding="utf-8")
    checked = subprocess.run([analyze, "verify", str(tmp_path / "storyline.service")], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr


def test_forget_and_backup_on_each_backend(store_settings, tmp_path):
    """`forget` on SQLite and PostgreSQL through the engine: the outlet's articles, search entries
    and signatures go, stories are recomputed, the removal log is kept; a writer that was already
    running (its deduplicator loaded) reloads before its next write, so a new copy of a forgotten
    report is stored as an original. `backup` copies SQLite and names pg_dump for PostgreSQL."""
    from storyline.engine import open_engine
    from storyline.errors import ConfigError
    from storyline.ingest import read_paths
    from storyline.maintenance import backup, forget
    from storyline.models import Article
    from storyline.store import queries

    def outlet_counts_hold(store) -> None:  # the kept counts (migration 0060) are the articles' own
        kept = [tuple(r) for r in queries.outlets(store)]
        counted = [(r[0], r[1], r[2], r[1] - r[2], r[3]) for r in store.db.execute(
            "SELECT source, count(*), sum(CASE WHEN canonical_id = id THEN 1 ELSE 0 END), max(published) "
            "FROM articles WHERE source <> '' GROUP BY source ORDER BY 3 DESC, 2 DESC, 1").fetchall()]
        assert kept == counted and kept

    writer = open_engine(store_settings, command="test: a running writer")
    writer.add_articles(read_paths([DEMO]))
    outlet_counts_hold(writer.store)
    before = list(writer.iter_articles())
    theirs = {a["id"] for a in before if a["source"] == OUTLET}
    assert len(theirs) >= 5

    remover = open_engine(store_settings, command="storyline forget")  # another connection, as another process has
    report = forget(remover, outlets=[OUTLET], reason="asked")
    assert {r["id"] for r in report.removed} == theirs and report.stories_recomputed
    assert report.new_originals  # some of the outlet's reports were reprinted elsewhere: a copy takes over
    outlet_counts_hold(remover.store)
    after = {a["id"]: a for a in remover.iter_articles()}
    assert len(after) == len(before) - len(theirs) and not theirs & set(after)
    assert all(a["reprint_of"] is None or a["reprint_of"] in after for a in after.values())
    assert not theirs & set(remover.signatures())
    for story in remover.iter_stories():
        originals = [i for i in story["articles"] if after[i]["reprint_of"] is None]
        assert story["size"] == len(originals) and story["duplicates"] == len(story["articles"]) - len(originals)
        assert all(s["article_id"] in after for s in story["sentences"])
    for art in (a for a in before if a["id"] in theirs):
        hits, _ = queries.search_articles(remover.store, art["title"], limit=50)
        assert not theirs & {h["id"] for h in hits}
    history = remover.db.execute("SELECT article_id FROM headline_history").fetchall()
    assert history and not theirs & {r[0] for r in history}  # a forgotten headline leaves the history too
    log = remover.removal_log(limit=None)
    assert {r["article_id"] for r in log} == theirs and all(r["selector"] == f"outlet={OUTLET}" for r in log)
    assert remover.removed_ids(sorted(theirs)) == theirs

    # an original with no copy left: forget it, then the running writer gets a copy of it
    lone = next(a for a in after.values() if a["reprint_of"] is None
                and not any(b["reprint_of"] == a["id"] for b in after.values()))
    forget(remover, ids=[lone["id"]], reason="asked")
    copy = Article(id="copy-of-lone", title=lone["title"], text=lone["text"], source="Another Outlet",
                   url="https://example.org/copy")
    added = writer.add_articles([copy])
    assert added.new == 1 and added.reprints == 0  # not a copy of an article that is gone
    outlet_counts_hold(writer.store)
    assert next(r for r in queries.outlets(writer.store, "Another Outlet"))["originals"] == 1
    assert {a["id"]: a for a in writer.iter_articles()}["copy-of-lone"]["reprint_of"] is None

    if store_settings.database_url:
        with pytest.raises(ConfigError, match="pg_dump"):
            backup(store_settings, tmp_path / "copy.db")
    else:
        copied = backup(store_settings, tmp_path / "copy.db")
        assert copied.articles == writer.counts()["articles"] and copied.integrity == "ok"
    writer.close()
    remover.close()
