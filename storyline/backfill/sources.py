"""What a backfill reads: WARC / WARC.gz files, folders, globs, listing files of paths (one per
line, plain or gzipped, as Common Crawl publishes ``warc.paths.gz``) and JSONL article files.

Sources expand on the driver into :class:`InputFile` entries, one Spark task each. Local paths
are read in place; ``https://`` and ``s3://`` paths are fetched by the executor that reads them
(``s3://`` needs ``fsspec`` + ``s3fs`` on the cluster), so the same job runs on a cluster that
has access to Common Crawl.
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import InputError

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
ARTICLE_SUFFIXES = (".jsonl", ".ndjson", ".json")
LISTING_SUFFIXES = (".paths", ".paths.gz", ".txt", ".lst")
REMOTE = ("https://", "http://", "s3://", "s3a://")
CC_PREFIX = "https://data.commoncrawl.org/"  # where Common Crawl's relative paths live


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file of the backfill: ``index`` is its place in the whole input (the arrival order of
    records that share a date), ``kind`` is ``warc`` or ``articles``."""

    index: int
    path: str
    kind: str

    @property
    def key(self) -> str:
        """Checkpoint key: the path as given (absolute for local files)."""
        return f"backfill:{self.path}"

    @property
    def stage_name(self) -> str:
        return hashlib.sha1(self.path.encode("utf-8")).hexdigest()[:20] + ".pkl"


def _kind(path: str) -> str | None:
    name = path.lower().split("?", 1)[0]
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    if name.endswith(ARTICLE_SUFFIXES):
        return "articles"
    return None


def _listing(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
            lines = [line.strip() for line in handle]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read the listing ({exc})") from exc
    out = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.startswith("crawl-data/"):  # Common Crawl's warc.paths.gz lists paths relative to its bucket
            line = CC_PREFIX + line
        elif not line.startswith(REMOTE) and not os.path.isabs(line):
            line = str((path.parent / line).resolve())
        out.append(line)
    return out


def expand_sources(sources: Sequence[str]) -> tuple[list[InputFile], list[InputError]]:
    """Every readable file named by ``sources``, each once, in the order given (folders and
    globs sorted). Returns the files and one error per source that names nothing readable."""
    found: list[str] = []
    errors: list[InputError] = []

    def add(path: str, origin: str) -> None:
        if _kind(path) is None:
            errors.append(InputError(path, f"not a WARC or JSONL file (from {origin}); skipped"))
        else:
            found.append(path)

    for source in sources:
        if source.startswith(REMOTE):
            add(source, source)
            continue
        if any(ch in source for ch in "*?["):
            matches = sorted(glob.glob(source, recursive=True))
            if not matches:
                errors.append(InputError(source, "the pattern matches no file"))
            for match in matches:
                if Path(match).is_file():
                    add(str(Path(match).resolve()), source)
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(str(p.resolve()) for p in path.rglob("*") if p.is_file() and _kind(str(p)))
            if not files:
                errors.append(InputError(source, "folder holds no WARC or JSONL files"))
            found.extend(files)
        elif not path.exists():
            errors.append(InputError(source, "no such file or folder"))
        elif _kind(source) is None and path.name.lower().endswith(LISTING_SUFFIXES):
            for entry in _listing(path):
                add(entry, source)
        else:
            add(str(path.resolve()), source)
    unique = list(dict.fromkeys(found))
    return [InputFile(i, p, _kind(p) or "") for i, p in enumerate(unique)], errors


@contextmanager
def local_copy(path: str) -> Iterator[Path]:
    """``path`` as a local file: itself, or a temporary download of a remote one (executor side)."""
    if not path.startswith(REMOTE):
        yield Path(path)
        return
    suffix = "".join(Path(path.split("?", 1)[0]).suffixes[-2:])
    with tempfile.TemporaryDirectory(prefix="storyline-backfill-") as tmp:
        target = Path(tmp) / f"input{suffix}"
        if path.startswith(("s3://", "s3a://")):
            try:
                import fsspec
            except ImportError as exc:
                raise InputError(path, "reading s3:// paths needs `pip install fsspec s3fs` on every executor") from exc
            with fsspec.open(path.replace("s3a://", "s3://"), "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            import httpx

            try:
                with httpx.stream("GET", path, follow_redirects=True, timeout=60) as response, open(target, "wb") as dst:
                    response.raise_for_status()
                    for chunk in response.iter_bytes(1 << 20):
                        dst.write(chunk)
            except httpx.HTTPError as exc:
                raise InputError(path, f"cannot download ({exc})") from exc
        yield target


__all__ = ["InputFile", "expand_sources", "local_copy", "WARC_SUFFIXES", "ARTICLE_SUFFIXES"]
