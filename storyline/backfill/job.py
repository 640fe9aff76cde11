"""The backfill job: sources -> staged articles (one Spark task per file) -> duplicates across
the set -> stories by window, linked -> the store, through one writer.

Resumable at file granularity: a file's staged output is complete once its outcome note
(``<stage>.json``) exists, and the store's checkpoint table records it; a rerun skips those
files, and a rerun with nothing new skips the set-wide stages too (the store remembers which
staged set it holds).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from operator import add
from pathlib import Path
from typing import Any, Callable, Sequence

from ..cluster import Clusterer, default_clusterer, resolve
from ..config import Settings
from ..dedup import MinHashDeduplicator
from ..errors import ConfigError, StorylineError
from .dedup import DedupRules, canonical_ids
from .extract import FileOutcome, extract_file, read_stage
from .sources import InputFile, expand_sources
from .stories import (UNDATED_WINDOW, FreshClusterer, choose_links, cluster_window, combine_states, in_head, link_votes,
                      union_roots, window_key)
from .summaries import StorySummaries, save_summaries
from .write import Assigned, check_store, write_results

log = logging.getLogger("storyline.backfill")
DONE_KEY = "backfill:set"  # checkpoint: digest of the staged set the store's stories were built from
SPARK_HINT = "storyline backfill needs PySpark: pip install 'storyline[spark]' (and Java 17 or newer)"


class SparkUnavailable(StorylineError):
    """PySpark is not installed, or Spark (Java) could not start."""


@dataclass
class BackfillReport:
    """Totals of one run, for the log and the final table."""

    files: int = 0
    files_skipped: int = 0
    records: int = 0
    articles: int = 0
    copies: int = 0
    stories: int = 0
    new: int = 0
    already_stored: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    windows: int = 0
    links: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        rows = [("files", f"{self.files} ({self.files_skipped} already done)"), ("records", self.records),
                ("articles", self.articles), ("copies", self.copies), ("stories", self.stories),
                ("new in store", f"{self.new} ({self.already_stored} already stored)"),
                ("windows / links", f"{self.windows} / {self.links}"), ("errors", len(self.errors)),
                ("time", f"{self.seconds:.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in self.stage_seconds.items()) + ")")]
        return "\n".join(f"  {name:<16} {value}" for name, value in rows)


def with_retries(master: str, failures: int = 4) -> str:
    """Local masters retry a failed task only when told (``local[N,F]``); cluster masters do by
    ``spark.task.maxFailures``."""
    match = re.fullmatch(r"local(?:\[([^,\]]+)\])?", master.strip())
    if match:
        return f"local[{match.group(1) or 1},{failures}]"
    return master


def spark_session(master: str | None = None) -> Any:
    """A Spark session for the backfill (``local[*]``, ``spark://host:7077``, ``yarn``, ...).
    ``None``: the master ``spark-submit --master`` gave (its JVM passes it on), else ``local[*]``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(SPARK_HINT) from None
    submitted = master is None and bool(os.environ.get("PYSPARK_GATEWAY_PORT"))  # spark-submit's JVM holds the master
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    root = str(Path(__file__).resolve().parents[2])
    try:
        builder = SparkSession.builder if submitted else SparkSession.builder.master(with_retries(master or "local[*]"))
        session = (builder.appName("storyline-backfill")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.task.maxFailures", "4")
                   .config("spark.executorEnv.PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
                   .getOrCreate())
    except Exception as exc:  # the JVM did not start: Java missing or too old
        raise SparkUnavailable(f"Spark could not start ({type(exc).__name__}: {str(exc)[:200]}); it needs Java 17 "
                               "or newer (Debian: apt-get install openjdk-17-jre-headless)") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _stage_digest(keys: Sequence[str]) -> str:
    return hashlib.sha1("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def _done(store: Any, file: InputFile, stage_dir: Path) -> tuple[dict[str, Any] | None, bool]:
    """The outcome of a file staged by an earlier run, or None; and whether the store has yet to
    record it (a run stopped after the file's task finished, before the driver heard of it)."""
    saved = store.get_checkpoint(file.key)
    if saved:
        outcome: dict[str, Any] = json.loads(saved)
        if outcome.get("done") and Path(outcome.get("staged", "")).exists():
            return outcome, False
    note = (stage_dir / file.stage_name).with_suffix(".json")
    if note.exists() and (stage_dir / file.stage_name).exists():
        return dict(json.loads(note.read_text(encoding="utf-8"))), True
    return None, False


def _stage_one(file: InputFile, stage_dir: str, preparers: Any) -> dict[str, Any]:
    """Executor: :func:`extract_file`, then its outcome note (written last: the file is done)."""
    outcome: FileOutcome = extract_file(file, stage_dir, preparers)
    note = {"done": True, "path": file.path, "staged": outcome.staged, "records": outcome.records,
            "articles": outcome.articles, "errors": outcome.errors, "seconds": round(outcome.seconds, 3)}
    target = Path(outcome.staged).with_suffix(".json")
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(note), encoding="utf-8")
    os.replace(tmp, target)
    return note


def run_backfill(sources: Sequence[str], settings: Settings, *, master: str | None = None, window_days: float = 7.0,
                 stage_dir: str | Path | None = None, spark: Any = None,
                 say: Callable[[str], None] = lambda m: log.info(m)) -> BackfillReport:
    """Backfill ``sources`` into the store named by ``settings`` (see docs/backfill.md).

    Args:
        sources: WARC/JSONL files, folders, globs, listing files (``warc.paths.gz``), URLs.
        settings: the store and the engine's settings.
        master: Spark master when no ``spark`` session is given (None: ``spark-submit``'s, else
            ``local[*]``).
        window_days: length of a clustering window (at least ``settings.cluster_window_days``).
        stage_dir: where executors write staged articles (a path every executor and the driver
            see; default ``<data_dir>/backfill``).
        spark: an existing SparkSession (tests, notebooks); it is left running.
        say: where progress lines go.

    Raises:
        SparkUnavailable: PySpark missing or Spark could not start.
        StorageError: the store was filled by live ingest.
    """
    from ..engine import open_engine

    if window_days < settings.cluster_window_days:
        raise ConfigError(f"--window-days {window_days} is shorter than the clusterer's horizon "
                          f"({settings.cluster_window_days} days); use at least that")
    started = time.perf_counter()
    report = BackfillReport()
    files, bad = expand_sources(sources)
    report.errors += [(e.where, e.reason) for e in bad]
    for where, reason in report.errors:
        say(f"error: {where}: {reason}")
    stage = Path(stage_dir) if stage_dir else Path(settings.data_dir) / "backfill"
    engine = open_engine(settings, command="backfill")
    store = engine.store
    try:
        with engine.writing("backfill"):  # one writer: a `watch` on this store waits (writer_wait)
            check_store(store)
            todo, previous = [], 0
            for file in files:
                outcome, unrecorded = _done(store, file, stage)
                if outcome is None:
                    todo.append(file)
                    continue
                previous += 1
                _note_outcome(store, report, outcome, say, record=unrecorded)
            report.files, report.files_skipped = len(files), previous
            staged_all = sorted(json.loads(v)["staged"] for _, v in _staged_checkpoints(store))
            if not todo and not staged_all:
                say("nothing to read")
                report.seconds = time.perf_counter() - started
                return report
            if not todo and store.get_checkpoint(DONE_KEY) == _stage_digest(staged_all):
                say(f"nothing new: {len(files)} file(s) already backfilled into {store.where}")
                report.seconds = time.perf_counter() - started
                return report
            own_session = spark is None
            spark = spark or spark_session(master)
            try:
                _run(spark, engine, settings, todo, stage, window_days, report, say)
            finally:
                if own_session:
                    spark.stop()
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


def _staged_checkpoints(store: Any) -> list[tuple[str, str]]:
    rows = store.db.execute("SELECT key, value FROM checkpoints WHERE key LIKE 'backfill:/%' OR key LIKE 'backfill:%://%'")
    return [(r[0], r[1]) for r in rows if json.loads(r[1]).get("done")]


def _note_outcome(store: Any, report: BackfillReport, outcome: dict[str, Any], say: Callable[[str], None],
                  *, record: bool) -> None:
    """Count a file's outcome; ``record``: it is new to the store (log its errors, save them and
    its checkpoint). Errors of files recorded by an earlier run are not this run's."""
    report.records += int(outcome.get("records", 0))
    if not record:
        return
    errors = [(str(e[0]), str(e[1])) for e in outcome.get("errors", [])]
    for where, reason in errors:
        say(f"error: {where}: {reason}")
    if errors:
        store.record_errors(errors)
    store.set_checkpoint(f"backfill:{outcome['path']}", json.dumps(outcome))
    report.errors += errors


def _run(spark: Any, engine: Any, settings: Settings, todo: list[InputFile], stage: Path, window_days: float,
         report: BackfillReport, say: Callable[[str], None]) -> None:
    sc = spark.sparkContext
    store = engine.store
    task_settings = settings.with_(workers=0)  # executors are the parallelism; no helper processes inside tasks
    dedup = MinHashDeduplicator(threshold=settings.dedup_threshold, num_perm=settings.dedup_num_perm)
    probe = default_clusterer(task_settings)
    preparers = (dedup.preparer(), getattr(probe, "preparer", lambda: None)())
    make: Callable[[], Clusterer] = FreshClusterer(task_settings)

    clock = time.perf_counter()
    if todo:
        notes = sc.parallelize(todo, len(todo)).map(partial(_stage_one, stage_dir=str(stage), preparers=preparers)).collect()
        for note in notes:
            _note_outcome(store, report, note, say, record=True)
    report.stage_seconds["read"] = time.perf_counter() - clock
    staged_paths = sorted(json.loads(v)["staged"] for _, v in _staged_checkpoints(store))
    say(f"read: {report.files - report.files_skipped} file(s) read, {report.files_skipped} already done; "
        f"{report.records} records, {len(report.errors)} errors ({report.stage_seconds['read']:.1f} s)")

    clock = time.perf_counter()
    staged = sc.parallelize(staged_paths, max(1, len(staged_paths))).flatMap(read_stage)
    staged.persist()
    report.articles = staged.count()
    assigned, counts = canonical_ids(staged, DedupRules.of(dedup))
    assigned.persist()
    report.copies = assigned.filter(lambda kv: kv[1] != kv[0].article.id).count()
    report.stage_seconds["duplicates"] = time.perf_counter() - clock
    say(f"duplicates: {report.articles} articles, {report.copies} copies "
        f"({counts['near_copies']} near, from {counts['near_pairs']} confirmed pairs) "
        f"({report.stage_seconds['duplicates']:.1f} s)")

    clock = time.perf_counter()
    roots, merges, state, story_of = _stories(sc, assigned, make, window_days, settings.cluster_window_days, report)
    report.stage_seconds["stories"] = time.perf_counter() - clock
    say(f"stories: {report.windows} window(s), {report.links} link(s) across windows, {report.stories} stories "
        f"({report.stage_seconds['stories']:.1f} s)")

    clock = time.perf_counter()
    final = sc.broadcast(merges)
    placed = (assigned.map(lambda kv: (kv[1], kv[0])).join(story_of, assigned.getNumPartitions())  # canonical -> (item, story of the original)
              .map(lambda kv: (kv[1][0].order, kv[1][0], kv[0], resolve(kv[1][1], final.value))))
    placed.persist()
    rows = (placed.sortBy(lambda t: t[0], numPartitions=max(1, sc.defaultParallelism))
            .map(lambda t: Assigned(t[1].article, t[2], t[3], t[1].sketch)))
    written = write_results(engine, rows.toLocalIterator(prefetchPartitions=True), merges, state, probe)
    store.set_checkpoint(DONE_KEY, _stage_digest(staged_paths))
    report.new, report.already_stored = written.new, written.already_stored
    report.stage_seconds["store"] = time.perf_counter() - clock
    clock = time.perf_counter()
    # summaries and related-story vectors on executors (one task per group of stories); the driver writes them
    summaries = (placed.map(lambda t: (t[3], (t[0], t[1].article, t[2])))
                 .groupByKey(max(1, 4 * sc.defaultParallelism))
                 .mapPartitions(StorySummaries(task_settings)))
    summaries.persist()
    summaries.count()  # one job on every executor at once (toLocalIterator alone runs a partition at a time)
    computed, refreshed = save_summaries(engine, summaries.toLocalIterator())
    summaries.unpersist()
    report.stage_seconds["summaries"] = time.perf_counter() - clock
    say(f"store: {written.new} new articles ({written.reprints} reprints), {written.already_stored} already stored, "
        f"{computed + refreshed} summaries ({computed} on executors) "
        f"({report.stage_seconds['store']:.1f} s + {report.stage_seconds['summaries']:.1f} s)")
    placed.unpersist()
    assigned.unpersist()
    staged.unpersist()


def _stories(sc: Any, assigned: Any, make: Callable[[], Clusterer], window_days: float, horizon: float,
             report: BackfillReport) -> tuple[dict[str, str], dict[str, str], dict[str, Any], Any]:
    """Window clustering, links, union; returns (roots, all merges, final state, rdd id -> story)."""
    originals = assigned.filter(lambda kv: kv[1] == kv[0].article.id).map(lambda kv: (window_key(kv[0], window_days), kv[0]))
    keys = sorted(originals.keys().distinct().collect())
    report.windows = len(keys)
    # a few tasks per core, each clustering whole windows, and every shuffle after with as many
    # partitions: one tiny task per window and per join (PySpark sums a join's parents' partitions)
    # cost more than the clustering of a small set
    parts = max(1, min(len(keys), 4 * sc.defaultParallelism))
    windows = originals.groupByKey(parts).map(lambda kv: cluster_window(kv[0], kv[1], make))
    windows.persist()
    own = windows.flatMap(lambda w: w.stories.items())  # article id -> story in its window
    heads = (originals.filter(lambda kv: kv[0] != UNDATED_WINDOW and in_head(kv[1], kv[0], window_days, horizon))
             .map(lambda kv: ((kv[0][0], kv[0][1] - 1), kv[1])))
    states = windows.map(lambda w: (w.key, w.state))
    votes = (states.join(heads.groupByKey(parts), parts)
             .flatMap(lambda kv: [(a, (s, kv[0][1])) for a, s in link_votes(kv[1][0], kv[1][1], make)])
             .join(own, parts)  # article -> ((earlier story, window), own story)
             .map(lambda kv: ((kv[1][1], kv[1][0][0], kv[1][0][1]), 1))
             .reduceByKey(add, parts)
             .collect())
    totals = dict(heads.map(lambda kv: (kv[1].article.id, 1)).join(own, parts).map(lambda kv: (kv[1][1], 1))
                  .reduceByKey(add, parts).collect()) if votes else {}
    links = choose_links((later, earlier, n, totals.get(later, n)) for (later, earlier, _), n in votes)
    opened = {}
    for (later, earlier, k), _ in votes:
        opened[earlier], opened[later] = (k, 0), (k + 1, 0)
    roots = union_roots(links, opened)
    report.links = len(links)
    merges: dict[str, str] = {}
    for window_merges in windows.map(lambda w: w.merges).collect():
        merges.update(window_merges)
    merges.update(roots)
    last: dict[str, tuple[str, int]] = {}
    for key in keys:
        if key == UNDATED_WINDOW or key[1] > last.get(key[0], ("", -1))[1]:
            last[key[0] if key != UNDATED_WINDOW else "\x00undated"] = key
    finals = set(last.values())
    state = combine_states(windows.filter(lambda w: w.key in finals).map(lambda w: w.state).collect(), merges)
    shared = sc.broadcast(roots)
    story_of = own.mapValues(lambda s: shared.value.get(s, s))
    story_of.persist()
    report.stories = story_of.values().distinct(parts).count()
    windows.unpersist()
    return roots, merges, state, story_of


__all__ = ["run_backfill", "BackfillReport", "SparkUnavailable", "spark_session", "with_retries", "SPARK_HINT"]
