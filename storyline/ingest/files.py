"""Readers for local files: plain text, JSONL, CSV, and folders of them.

Each reader yields :class:`Article` records and reports bad items to a :class:`ReadReport`
instead of raising, so one malformed line never stops a batch. Other modules register readers
for more suffixes in :data:`READERS` (feeds, HTML pages, WARC archives).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError
from ..models import Article
from ..text import clean_text
from .dates import parse_date

Reader = Callable[[Path, "ReadReport"], Iterator[Article]]

_HEADLINE_MAX_WORDS = 25
_CLOSING = tuple('.!?…"”’\')]:;')
_FIELD_ALIASES = {
    "title": ("title", "headline", "TITLE"),
    "text": ("text", "body", "content", "description", "summary"),
    "url": ("url", "link", "URL"),
    "source": ("source", "outlet", "publisher", "PUBLISHER"),
    "published": ("published", "date", "timestamp", "pubdate", "TIMESTAMP"),
    "id": ("id", "ID", "guid"),
}


@dataclass
class ReadReport:
    """What a read produced: a count of items and one error per bad item or file."""

    items: int = 0
    errors: list[InputError] = field(default_factory=list)
    files: int = 0

    def error(self, where: str, reason: str) -> None:
        self.errors.append(InputError(where, reason))


def decode_lines(raw_lines: Iterable[bytes], where: str, report: ReadReport) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line that decodes as UTF-8; others are reported."""
    for number, line in enumerate(raw_lines, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        try:
            yield number, line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            report.error(
                f"{where}:{number}",
                f"not valid UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                "line skipped — re-save the file as UTF-8",
            )


def _decoded_lines(path: Path, report: ReadReport) -> Iterator[tuple[int, str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.error(str(path), f"cannot read file ({exc.strerror or exc})")
        return
    yield from decode_lines(raw.splitlines(), str(path), report)


def json_records(lines: Iterable[tuple[int, str]], where: str, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each line holding a JSON object; bad lines are reported."""
    for number, line in lines:
        if not line.strip():
            continue
        at = f"{where}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            report.error(at, f"malformed JSON ({exc.msg} at column {exc.colno}); line skipped")
            continue
        if not isinstance(record, dict):
            report.error(at, f"expected a JSON object, found {type(record).__name__}")
            continue
        yield number, record


def _item_id(path: Path, number: int, given: Any = None) -> str:
    if given not in (None, ""):
        return str(given)
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{path.stem}-{digest}-{number}"


def article_from_record(record: dict[str, Any], *, item_id: str, origin: str) -> Article:
    """Build an Article from a loosely named dict (``headline``/``body``/``link`` accepted)."""

    def pick(name: str) -> Any:
        for key in _FIELD_ALIASES[name]:
            if record.get(key) not in (None, ""):
                return record[key]
        return ""

    title, text = clean_text(str(pick("title"))), clean_text(str(pick("text")))
    if not title and not text:
        raise ValueError("item has neither a title nor a text")
    return Article(
        id=item_id,
        title=title,
        text=text,
        url=str(pick("url")),
        source=clean_text(str(pick("source"))),
        published=parse_date(pick("published")),
        origin=origin,
    )


def read_plain_text(path: Path, report: ReadReport) -> Iterator[Article]:
    """Each non-empty line an item; a short line without closing punctuation is a headline."""
    for number, line in _decoded_lines(path, report):
        line = clean_text(line)
        if not line:
            continue
        is_headline = len(line.split()) <= _HEADLINE_MAX_WORDS and not line.endswith(_CLOSING)
        yield Article(
            id=_item_id(path, number),
            title=line if is_headline else "",
            text="" if is_headline else line,
            origin=f"{path}:{number}",
        )


def read_jsonl(path: Path, report: ReadReport) -> Iterator[Article]:
    """One JSON object per line with ``title``, ``text`` and optional ``url``, ``source``,
    ``published``, ``id``."""
    for number, record in json_records(_decoded_lines(path, report), str(path), report):
        where = f"{path}:{number}"
        try:
            yield article_from_record(record, item_id=_item_id(path, number, record.get("id")), origin=where)
        except ValueError as exc:
            report.error(where, str(exc))


def read_csv(path: Path, report: ReadReport) -> Iterator[Article]:
    """A header row naming the columns (``title``, ``text``, ``url``, ``source``, ``published``)."""
    text = "\n".join(line for _, line in _decoded_lines(path, report))
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = reader.fieldnames or []
    try:
        for record in reader:
            where = f"{path}:{reader.line_num}"
            if None in record or any(v is None for v in record.values()):
                report.error(where, f"row has a different number of fields than the header ({len(header)}); row skipped")
                continue
            try:
                yield article_from_record(record, item_id=_item_id(path, reader.line_num, record.get("id")), origin=where)
            except ValueError as exc:
                report.error(where, str(exc))
    except csv.Error as exc:
        report.error(f"{path}:{reader.line_num}", f"malformed CSV ({exc}); rest of file skipped")


READERS: dict[str, Reader] = {
    ".txt": read_plain_text,
    ".text": read_plain_text,
    ".md": read_plain_text,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_jsonl,
    ".csv": read_csv,
    ".tsv": read_csv,
}


# Readers for feeds, OPML lists, HTML pages and WARC archives live in their own modules.
from .feeds import read_feed_file  # noqa: E402
from .opml import read_opml_file  # noqa: E402
from .pages import read_html_file  # noqa: E402
from .warc import read_warc_file  # noqa: E402

def read_json(path: Path, report: ReadReport) -> Iterator[Article]:
    """A ``.json`` file is a JSON Feed when it looks like one, JSON lines otherwise."""
    from .feeds import looks_like_json_feed

    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        report.error(str(path), f"cannot read file ({exc.strerror or exc})")
        return
    yield from (read_feed_file if looks_like_json_feed(head) else read_jsonl)(path, report)


READERS.update({
    ".json": read_json,
    ".xml": read_feed_file,
    ".rss": read_feed_file,
    ".atom": read_feed_file,
    ".rdf": read_feed_file,
    ".feed": read_feed_file,
    ".opml": read_opml_file,
    ".html": read_html_file,
    ".htm": read_html_file,
    ".html.gz": read_html_file,
    ".htm.gz": read_html_file,
    ".warc": read_warc_file,
    ".warc.gz": read_warc_file,
})


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    double = "".join(suffixes)
    return double if double in READERS else (suffixes[-1] if suffixes else "")


def _expand(paths: Iterable[str | Path], report: ReadReport) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _suffix(p) in READERS)
            if not found:
                report.error(str(path), f"folder holds no readable files ({', '.join(sorted(READERS))})")
            yield from found
        elif path.exists():
            yield path
        else:
            report.error(str(path), "no such file or folder")


def read_paths(paths: Iterable[str | Path], report: ReadReport | None = None) -> Iterator[Article]:
    """Articles from every file and folder in ``paths``; unknown suffixes read as plain text."""
    report = report if report is not None else ReadReport()
    for path in _expand(paths, report):
        reader = READERS.get(_suffix(path), read_plain_text)
        report.files += 1
        for article in reader(path, report):
            report.items += 1
            yield article


__all__ = ["READERS", "ReadReport", "read_paths", "article_from_record", "Reader"]
