"""The command line end to end, as a user runs it: the specimen, the demo corpus, bad input."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO, ROOT, run_cli

IRAQ = re.compile(r"\bIraq", re.I)
STRAYS = ("Walmart", "wrestler")


def digest_json(*paths: str) -> dict:
    proc = run_cli("digest", *paths, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_specimen_gives_one_iraq_story_with_copies_collapsed_and_strays_apart(specimen):
    stories = digest_json(str(specimen))["stories"]
    top = stories[0]
    assert IRAQ.search(top["headline"]), top["headline"]
    assert top["duplicates"] == 2
    assert top["size"] >= 15
    assert 2 <= len(top["sentences"]) <= 4
    assert len(top["summary"].split()) <= 50
    for stray in STRAYS:
        assert stray.lower() not in top["summary"].lower()
        holders = [s for s in stories if any(stray.lower() in (a["title"] + " ").lower() for a in s["articles"])]
        assert len(holders) == 1 and holders[0]["size"] == 1, stray
    walmart, wrestler = ([s["id"] for s in stories if any(w.lower() in a["title"].lower() for a in s["articles"])] for w in STRAYS)
    assert walmart != wrestler


def test_specimen_summary_states_what_the_headline_announces(specimen):
    # The pile repeats background (the nuclear deal) more often than the news; the summary must
    # still be about Iraq (the summarizer's title-coverage bonus; without it, it is not).
    top = digest_json(str(specimen))["stories"][0]
    assert any(IRAQ.search(s["text"]) for s in top["sentences"]), top["summary"]


def test_specimen_summary_sentences_are_verbatim_and_attributed(specimen):
    top = digest_json(str(specimen))["stories"][0]
    lines = specimen.read_text(encoding="utf-8")
    for sent in top["sentences"]:
        assert sent["text"] in lines
        article = top["articles"][sent["article"]]
        assert article["id"] == sent["article_id"]


def test_digest_is_deterministic(specimen):
    first = run_cli("digest", str(specimen), "--json")
    second = run_cli("digest", str(specimen), "--json")
    assert first.returncode == 0 and first.stdout == second.stdout


def test_digest_plain_text_output_names_the_story(specimen):
    proc = run_cli("digest", str(specimen))
    assert proc.returncode == 0
    assert proc.stdout.startswith("1. ") and IRAQ.search(proc.stdout.splitlines()[0])
    assert "\x1b[" not in proc.stderr  # no progress bars or colours when piped


def test_digest_of_demo_corpus_finds_the_events():
    stories = digest_json(str(DEMO))["stories"]
    labels = json.loads((Path(__file__).parent / "data" / "demo_labels.json").read_text())
    events = {v for v in labels.values() if not v.startswith("stray-")}
    big = [s for s in stories if s["size"] >= 3]
    assert len(big) >= len(events) - 1
    for story in stories:
        assert len(story["summary"].split()) <= 50
        ids = [a["id"] for a in story["articles"]] + [r for a in story["articles"] for r in a["reprints"]]
        assert len({labels[i.rsplit(":", 1)[-1]] for i in ids}) <= 2, story["headline"]  # ids are namespaced by file


def test_bad_inputs_are_reported_and_the_rest_processed(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"title": "Harbor bridge closed after ship strike", "text": "The span is shut."}\n'
                    '{"title": "broken\n', encoding="utf-8")
    binary = tmp_path / "latin1.txt"
    binary.write_bytes(b"Caf\xe9 owners protest new rules\n")
    proc = run_cli("digest", str(good), str(binary), str(tmp_path / "missing.csv"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "good.jsonl:2" in proc.stderr and "malformed JSON" in proc.stderr
    assert "latin1.txt:1" in proc.stderr and "UTF-8" in proc.stderr
    assert "missing.csv" in proc.stderr and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["stories"][0]["headline"] == "Harbor bridge closed after ship strike"
    strict = run_cli("digest", str(good), "--strict")
    assert strict.returncode == 1


def test_nothing_readable_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    proc = run_cli("digest", str(bad))
    assert proc.returncode == 1 and "nothing could be read" in proc.stderr


@pytest.mark.parametrize("command", ["cluster", "summarize"])
def test_unreadable_input_file_is_a_clear_error(command, tmp_path):
    for target, reason in ((tmp_path / "missing.jsonl", "no such file"), (tmp_path, "is a folder")):
        proc = run_cli(command, str(target))
        assert proc.returncode == 1
        assert f"{target}: {reason}" in proc.stderr and "Traceback" not in proc.stderr


def test_cluster_contract(tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "title": "Tellford Bridge closed after cargo ship strike", "text": "A cargo ship hit the Tellford Bridge pier in Port Averill.", "published": "2026-03-10T08:00:00Z"},
        {"id": "b", "title": "Ship strikes Tellford Bridge; span shut", "text": "The Tellford Bridge in Port Averill was closed after a cargo ship struck a pier.", "published": "2026-03-10T09:00:00Z"},
        {"id": "c", "title": "Bakery wins bread award", "text": "A Saltmere bakery won the regional rye bread award."},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    proc = run_cli("cluster", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == ["a", "b", "c"]
    assert got[0]["story"] == got[1]["story"] != got[2]["story"]


def test_summarize_contract(tmp_path):
    src = tmp_path / "stories.jsonl"
    story = {"id": "st1", "articles": [
        {"title": "Tellford Bridge closed after ship strike", "text": "A cargo ship struck the Tellford Bridge on Tuesday. The span will stay closed for two weeks. Ferries will run every twenty minutes."},
        {"title": "Ship hits Tellford Bridge", "text": "The Tellford Bridge was closed on Tuesday after a cargo ship hit one of its piers. Engineers are inspecting the damage."},
    ]}
    src.write_text(json.dumps(story) + "\n", encoding="utf-8")
    proc = run_cli("summarize", str(src), "--max-words", "30")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["id"] == "st1" and "Tellford" in out["headline"]
    assert 0 < len(out["summary"].split()) <= 30
    for sent in out["sentences"]:
        assert sent["text"] in story["articles"][sent["article"]]["text"]


def test_ingest_twice_stores_nothing_new_and_export(data_dir):
    first = run_cli("ingest", str(DEMO), "--data-dir", str(data_dir))
    assert first.returncode == 0, first.stderr
    exported = run_cli("export", "articles", "--data-dir", str(data_dir))
    n_first = len(exported.stdout.splitlines())
    second = run_cli("ingest", str(DEMO), "--data-dir", str(data_dir))
    assert second.returncode == 0 and "0 new" in second.stderr
    again = run_cli("export", "articles", "--data-dir", str(data_dir))
    assert len(again.stdout.splitlines()) == n_first == sum(1 for line in DEMO.open() if line.strip())
    row = json.loads(again.stdout.splitlines()[0])
    assert {"id", "url", "origin", "source", "title", "text", "published", "language"} <= set(row)
    stories = run_cli("stories", "--data-dir", str(data_dir), "--json")
    assert len(json.loads(stories.stdout)["stories"]) >= 10


def test_demo_runs_offline_and_shows_stories(data_dir):
    proc = run_cli("demo", "--no-serve", "--data-dir", str(data_dir))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("1. ")
    assert proc.stdout.count("\n1") >= 1 and "copies collapsed" in proc.stdout


def test_ingest_reports_partial_failure_in_its_exit_status(data_dir, tmp_path):
    good = tmp_path / "mixed.jsonl"
    good.write_text('{"title": "Tellford Bridge reopens to traffic", "text": "The span reopened."}\nnot json\n', encoding="utf-8")
    proc = run_cli("ingest", str(good), "--data-dir", str(data_dir))
    assert proc.returncode == 3, proc.stderr
    assert "mixed.jsonl:2" in proc.stderr and "1 new" in proc.stderr
    assert run_cli("ingest", str(tmp_path / "nope.jsonl"), "--data-dir", str(data_dir)).returncode == 1


def test_feeds_add_list_remove(data_dir):
    url = "https://news.example/feed.xml"
    assert run_cli("feeds", "add", url, "--interval", "15", "--data-dir", str(data_dir)).returncode == 0
    listed = run_cli("feeds", "--json", "--data-dir", str(data_dir))
    feeds = json.loads(listed.stdout)["feeds"]
    assert [(f["url"], f["interval_s"]) for f in feeds] == [(url, 900.0)]
    assert run_cli("feeds", "remove", url, "--data-dir", str(data_dir)).returncode == 0
    assert json.loads(run_cli("feeds", "--json", "--data-dir", str(data_dir)).stdout)["feeds"] == []


BLAS_PROBE = """
import json, sys
from threadpoolctl import threadpool_info
from storyline.cli import main
assert main(["digest", sys.argv[1], "--json"]) == 0
print(json.dumps(sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")))
"""


@pytest.mark.parametrize("told", [None, "2"])
def test_the_command_runs_blas_with_one_thread_unless_told_otherwise(told):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    if told:
        env["OPENBLAS_NUM_THREADS"] = told
    proc = subprocess.run([sys.executable, "-c", BLAS_PROBE, str(DEMO)], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    threads = json.loads(proc.stdout.strip().splitlines()[-1])
    assert threads, "numpy's BLAS is loaded by a digest"
    if told is None:
        assert set(threads) == {1}
    elif (os.cpu_count() or 1) > 1:
        assert max(threads) == 2  # the user's setting stands


_ENDING = """
import atexit, sys
from storyline import cli, engine
engine.Engine.__del__ = lambda self: print("engine freed", flush=True)
atexit.register(lambda: print("exit handlers ran", flush=True))
code = cli.main(["ingest", sys.argv[1], "--data-dir", sys.argv[2]], end_process=sys.argv[3] == "1")
print("main returned", code, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize("end_process", [True, False])
def test_the_ingest_command_ends_at_once_after_the_exit_handlers_with_its_store_closed(end_process, tmp_path):
    """The ``storyline`` command leaves freeing an ingest's heap to the process's end (the engine
    is never freed object by object) but runs the exit handlers and closes the store first; a
    caller of ``main`` in Python gets the exit code back, as before."""
    data = tmp_path / "data"
    proc = subprocess.run([sys.executable, "-c", _ENDING, str(DEMO), str(data), "1" if end_process else "0"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert "the store holds 97 articles" in proc.stderr
    assert "exit handlers ran" in proc.stdout
    assert ("main returned" in proc.stdout) is not end_process
    assert ("engine freed" in proc.stdout) is not end_process
    assert not (data / "storyline.db-wal").exists()  # closed: the log folded into the database
    again = run_cli("stories", "--data-dir", str(data), "--json")
    assert again.returncode == 0 and len(json.loads(again.stdout)["stories"]) >= 10


def test_an_ingest_freezes_what_the_clusterer_made_while_the_collector_was_paused():
    """Within ``storyline ingest`` what a collector pause made (a batch's decisions, the
    consolidation) is frozen after it, so no later collection walks it; elsewhere (a service, a
    library caller) nothing is frozen, and the ingest's end unfreezes all (docs/scale.md, session 40)."""
    import gc

    from storyline.process import collecting_less, collector_paused

    def paused_work() -> list[list[int]]:
        with collector_paused():
            return [[i] for i in range(1000)]

    before = gc.get_freeze_count()
    kept = paused_work()
    assert gc.get_freeze_count() == before
    with collecting_less():
        frozen = gc.get_freeze_count()
        kept += paused_work()
        assert gc.get_freeze_count() >= frozen + 1000
    assert gc.get_freeze_count() == 0 and len(kept) == 2000
    kept += paused_work()
    assert gc.get_freeze_count() == 0


def test_blas_limited_holds_one_thread_and_finds_the_libraries_once(monkeypatch):
    import numpy  # noqa: F401  (its BLAS loaded)
    from threadpoolctl import threadpool_info

    from storyline import process

    # the controller knows the libraries loaded when it was made: make it here, after whatever an
    # earlier test in this process loaded (scipy.linalg brings a second OpenBLAS)
    monkeypatch.setattr(process, "_BLAS", None)

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    was = blas_threads()
    with process.blas_limited():
        assert set(blas_threads()) == {1}
        controller = process._BLAS
    assert blas_threads() == was
    with process.blas_limited():
        assert process._BLAS is controller and set(blas_threads()) == {1}
    assert blas_threads() == was
