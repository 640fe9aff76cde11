"""WARC archives -> Article: streams ``.warc`` / ``.warc.gz`` (and ARC) files with warcio.

Common Crawl News layout: each ``response`` record holds one fetched HTML page;
``WARC-Target-URI`` is the article URL and ``WARC-Date`` its fetch time. One article per HTML
page; ``origin`` is ``<file>#<record offset>``.

Reading is resumable: :func:`iter_warc` yields ``(article, resume_offset)`` where
``resume_offset`` is the byte offset just past the article's record; store it, and pass it
back as ``start_offset`` to continue after an interruption (a file marked done is skipped by
the caller). A malformed, truncated or corrupt record gives one error in the report and
reading resumes at the next record boundary found in the file.
"""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Generator, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from ..errors import InputError
from ..models import Article
from .base import ReadReport, stable_id
from .dates import parse_date
from .pages import MAX_PAGE_BYTES, extract_article


log = logging.getLogger("storyline.ingest")
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_RESYNCS = 1000
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_SCAN_CHUNK = 1 << 20


@dataclass(slots=True)
class WarcProgress:
    """Counts of one pass over an archive (for logs and the backfill checkpoint table)."""

    records: int = 0
    pages: int = 0
    articles: int = 0
    errors: int = 0
    last_offset: int = 0


def _is_html(record: ArcWarcRecord) -> bool:
    headers = record.http_headers
    kind = (headers.get_header("Content-Type") if headers else None) or record.rec_headers.get_header("Content-Type") or ""
    kind = kind.split(";", 1)[0].strip().lower()
    return kind in HTML_TYPES or (not kind and record.rec_type == "response")


def _status_ok(record: ArcWarcRecord) -> bool:
    headers = record.http_headers
    if headers is None or not headers.get_statuscode():
        return record.rec_type in ("response", "resource")
    return str(headers.get_statuscode()).startswith("2")


def _next_boundary(handle: BinaryIO, after: int, gz: bool) -> int | None:
    """Offset of the next plausible record start strictly after ``after``, or None."""
    magic = _GZIP_MAGIC if gz else _WARC_MAGIC
    position = after + 1
    while True:
        handle.seek(position)
        chunk = handle.read(_SCAN_CHUNK + len(magic))
        if not chunk:
            return None
        found = chunk.find(magic)
        while found >= 0 and not gz and found > 0 and chunk[found - 1:found] != b"\n":
            found = chunk.find(magic, found + 1)
        if found >= 0:
            return position + found
        if len(chunk) <= len(magic):
            return None
        position += _SCAN_CHUNK


def _record_article(record: ArcWarcRecord, body: bytes, path: Path, offset: int) -> Article:
    uri = (record.rec_headers.get_header("WARC-Target-URI") or record.rec_headers.get_header("uri") or "").strip()
    record_id = record.rec_headers.get_header("WARC-Record-ID") or f"{uri}|{offset}"
    fetched = parse_date(record.rec_headers.get_header("WARC-Date") or record.rec_headers.get_header("archive-date"))
    # extract_article keeps uri as the article's fetched_url (the address it was archived under;
    # url may be the page's canonical one), cleaned at the ingest boundary like url
    return extract_article(body, url=uri, origin=f"{path}#{offset}", fetched_at=fetched,
                           article_id=stable_id("warc", record_id))


def iter_warc(path: str | Path, *, start_offset: int = 0, report: ReadReport | None = None,
              progress: WarcProgress | None = None) -> Iterator[tuple[Article, int]]:
    """Stream the HTML pages of a WARC file as articles.

    Args:
        path: ``.warc``, ``.warc.gz`` (one gzip member per record) or ``.arc``/``.arc.gz``.
        start_offset: byte offset of a record boundary to start from (a ``resume_offset`` of a
            previous pass, or 0).
        report: where bad records are reported (one error each); a fresh one if omitted.
        progress: counters updated as the file is read.

    Yields:
        ``(article, resume_offset)``, ``resume_offset`` being the offset just past the record.
    """
    path = Path(path)
    if report is None:
        report = ReadReport()
    progress = progress if progress is not None else WarcProgress()
    try:
        handle = open(path, "rb")
    except OSError as exc:
        report.error(str(path), f"cannot read file ({exc.strerror or exc})")
        return
    with handle:
        head = handle.read(len(_WARC_MAGIC))
        gz = head.startswith(_GZIP_MAGIC[:2])
        magic = _GZIP_MAGIC if gz else (_WARC_MAGIC if head == _WARC_MAGIC else None)
        position: int | None = start_offset
        resyncs = 0
        while position is not None and resyncs <= MAX_RESYNCS:
            failed_at = yield from _read_from(handle, path, position, report, progress, magic)
            if failed_at is None:
                break
            resyncs += 1
            position = _next_boundary(handle, failed_at, gz)


def _peek(handle: BinaryIO, offset: int, size: int) -> bytes | None:
    """``size`` bytes at ``offset`` without moving the file position (None where unsupported)."""
    pread = getattr(os, "pread", None)
    return pread(handle.fileno(), size, offset) if pread else None


def _read_from(handle: BinaryIO, path: Path, start: int, report: ReadReport, progress: WarcProgress,
               magic: bytes | None) -> Generator[tuple[Article, int], None, int | None]:
    """Read records from ``start``. Returns None at the end of the file, or, when a record broke
    reading, the end offset of the last good record (the search for the next record starts
    there, so nothing after a bad stretch is lost).

    ``magic`` is how every record of this file begins (a gzip member, ``WARC/1.``); a "record"
    warcio finds elsewhere is stray bytes it tried to read as one, and counts as malformed."""
    handle.seek(start)
    size = os.fstat(handle.fileno()).st_size
    iterator = ArchiveIterator(handle, check_digests=True, arc2warc=True)
    offset = end = start
    try:
        for record in iterator:
            progress.records += 1
            declared = _declared_length(record)
            here = iterator.offset if isinstance(getattr(iterator, "offset", None), int) else end
            if declared is not None and _implausible(declared, size - here, magic == _GZIP_MAGIC):
                _fail(report, progress, f"{path}#{here}", f"record declares Content-Length {_digits(declared)}, more "
                                                          f"than the {size - here:,} bytes left in the file; skipped "
                                                          "to the next record")
                return end
            wanted = record.rec_type in ("response", "resource") and _is_html(record) and _status_ok(record)
            body = record.content_stream().read(MAX_PAGE_BYTES + 1) if wanted else b""
            iterator.read_to_end(record)  # offsets are known once the record is consumed
            offset = iterator.get_record_offset()  # absolute: warcio starts from fh.tell()
            if magic is not None and _peek(handle, offset, len(magic)) not in (magic, None):
                _fail(report, progress, f"{path}#{offset}", "bytes here are not a WARC record (stray data or a "
                                                            "damaged record); skipped to the next record")
                return end
            end = offset + (iterator.get_record_length() or 0)
            progress.last_offset = end
            if not wanted:
                continue
            progress.pages += 1
            where = f"{path}#{offset}"
            if record.digest_checker.passed is False or _cut_short(record, body):
                _fail(report, progress, where, "record is truncated or corrupt (payload shorter than declared or "
                                               "digest does not match WARC-Payload-Digest); skipped")
                continue
            if len(body) > MAX_PAGE_BYTES:
                _fail(report, progress, where, f"page is larger than {MAX_PAGE_BYTES:,} bytes; skipped")
                continue
            try:
                article = _record_article(record, body, path, offset)
            except InputError as exc:
                _fail(report, progress, exc.where, exc.reason)
                continue
            progress.articles += 1
            yield article, end
    except ArchiveLoadFailed as exc:
        message = " ".join(str(exc).split())
        if "non-chunked gzip" in message:
            _fail(report, progress, f"{path}#{offset}", "file is one gzip stream, not one gzip member per record; "
                                                        "recompress it with `warcio recompress IN OUT` and read that")
            return None
        _fail(report, progress, f"{path}#{offset}", f"malformed record ({message[:200]}); skipped to the next record")
        return end
    except (OSError, EOFError, ValueError, OverflowError, io.UnsupportedOperation) as exc:
        _fail(report, progress, f"{path}#{offset}", f"record could not be read ({type(exc).__name__}: {exc}); "
                                                    "skipped to the next record")
        return end
    if size - end > 4:  # what is left cannot be parsed as a record: a cut-off download
        _fail(report, progress, f"{path}#{end}", f"file ends with {size - end:,} bytes that are not a complete "
                                                 "record (truncated file?); they were not read")
    return None


def _declared_length(record: ArcWarcRecord) -> int | None:
    value = (record.rec_headers.get_header("Content-Length") or "").strip()
    if not value.isdigit():
        return None
    return int(value) if len(value) <= 30 else 10 ** 30


def _implausible(declared: int, left: int, gz: bool) -> bool:
    """A Content-Length the rest of the file cannot hold (gzip members may inflate ~100 times)."""
    return declared > (left * 200 + (1 << 20) if gz else left)


def _digits(value: int) -> str:
    return f"{value:,}" if value < 10 ** 30 else "of more than 30 digits"


def _cut_short(record: ArcWarcRecord, body: bytes) -> bool:
    """Whether the payload ended before its digest could be checked (a truncated record)."""
    has_digest = record.rec_headers.get_header("WARC-Payload-Digest") or record.rec_headers.get_header("WARC-Block-Digest")
    return bool(has_digest) and record.digest_checker.passed is None and len(body) <= MAX_PAGE_BYTES


def _fail(report: ReadReport, progress: WarcProgress, where: str, reason: str) -> None:
    progress.errors += 1
    report.error(where, reason)


def read_warc_file(path: Path, report: ReadReport) -> Iterator[Article]:
    """Reader for local ``.warc`` / ``.warc.gz`` files: every HTML page, from the start."""
    for article, _ in iter_warc(path, report=report):
        yield article


__all__ = ["HTML_TYPES", "WarcProgress", "iter_warc", "read_warc_file"]
