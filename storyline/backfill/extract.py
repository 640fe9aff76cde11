"""Executor side of a backfill: one input file -> staged articles.

Each task reads one file with the ingest readers (``iter_warc`` for archives, the JSONL reader
for article files — the same functions ``storyline ingest`` uses), then runs the text stage and
the stages' preparers (:func:`storyline.pipeline.prepare_batch`: cleaning, language, the
deduplicator's MinHash sketch, the clusterer's article vector). The result goes to one staging
file, written under a temporary name and renamed, so a task Spark retries (a lost worker, a
killed process) replaces it whole and never leaves half a file.
"""
from __future__ import annotations

import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..ingest.files import READERS, ReadReport, _suffix
from ..ingest.warc import WarcProgress, iter_warc
from ..models import Article
from ..pipeline import Preparer, prepare_batch
from .sources import InputFile, local_copy

BATCH = 256
UNDATED = float("-inf")


@dataclass(slots=True)
class Staged:
    """One article ready for the set-wide stages. ``order`` is its arrival position: publication
    time (undated first, as ``storyline cluster`` orders), then input file, then record."""

    order: tuple[float, int, int]
    article: Article
    sketch: Any  # the deduplicator's preparer output (MinHash values and shingle count, or None)
    vector: Any  # the clusterer's preparer output (an ArticleVector)

    @property
    def when(self) -> float | None:
        """The time that places the article in a window: published, else fetched (WARC-Date)."""
        dt = self.article.published or self.article.fetched_at
        return dt.timestamp() if dt else None


@dataclass
class FileOutcome:
    """What one task did with one file (sent back to the driver for the checkpoint and the log)."""

    file: InputFile
    records: int = 0
    articles: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    staged: str = ""


def _read(file: InputFile, local: Path, report: ReadReport, progress: WarcProgress) -> Iterator[Article]:
    if file.kind == "warc":
        for article, _ in iter_warc(local, report=report, progress=progress):
            yield article
        return
    reader = READERS.get(_suffix(local))
    if reader is None:
        report.error(file.path, "no reader for this kind of file")
        return
    for article in reader(local, report):
        progress.records += 1
        yield article


def _staged(file: InputFile, batch: list[Article], start: int, dedup: Preparer | None,
            cluster: Preparer | None) -> list[Staged]:
    ready = prepare_batch(batch, dedup, cluster)
    out = []
    for i, art in enumerate(batch):
        published = art.published.timestamp() if art.published else UNDATED
        out.append(Staged((published, file.index, start + i), art,
                          ready.dedup[i] if ready.dedup is not None else None,
                          ready.cluster[i] if ready.cluster is not None else None))
    return out


def extract_file(file: InputFile, stage_dir: str, preparers: tuple[Preparer | None, Preparer | None]) -> FileOutcome:
    """Read, extract and prepare every article of ``file``; stage them in ``stage_dir``.

    Never raises for bad input: a record that cannot be read is one error naming the file and
    offset (``file#offset: reason``) and reading goes on; a file that cannot be opened is one error.
    """
    started = time.perf_counter()
    outcome = FileOutcome(file)
    report, progress = ReadReport(), WarcProgress()
    staged: list[Staged] = []
    try:
        with local_copy(file.path) as local:
            batch: list[Article] = []
            for article in _read(file, local, report, progress):
                # origins name the file as given (a URL for a remote one), not the temporary copy
                if str(local) != file.path and article.origin.startswith(str(local)):
                    article.origin = file.path + article.origin[len(str(local)):]
                batch.append(article)
                if len(batch) >= BATCH:
                    staged += _staged(file, batch, len(staged), *preparers)
                    batch = []
            if batch:
                staged += _staged(file, batch, len(staged), *preparers)
    except Exception as exc:  # a broken download or an unreadable file: one error, the job goes on
        where = getattr(exc, "where", file.path)
        report.error(where, getattr(exc, "reason", f"{type(exc).__name__}: {exc}"))
    outcome.records = max(progress.records, len(staged) + len(report.errors))
    outcome.articles = len(staged)
    outcome.errors = [(e.where, e.reason) for e in report.errors]
    outcome.staged = write_stage(Path(stage_dir) / file.stage_name, staged)
    outcome.seconds = time.perf_counter() - started
    return outcome


def write_stage(path: Path, staged: list[Staged]) -> str:
    """Write atomically: a retried task replaces the file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(staged, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return str(path)


def read_stage(path: str) -> list[Staged]:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - files this job wrote itself


__all__ = ["Staged", "FileOutcome", "extract_file", "read_stage", "write_stage"]
