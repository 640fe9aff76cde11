"""Readers for local files: plain text, JSONL, CSV, and folders of them.

Each reader yields :class:`Article` records and reports bad items to a :class:`ReadReport`
instead of raising, so one malformed line never stops a batch. Other modules register readers
for more suffixes in :data:`READERS` (feeds, HTML pages, WARC archives).

Every file is opened through :mod:`storyline.ingest.inputs` (regular files only, sizes and lines
capped while reading, binary files refused whole) and every article passes
:func:`storyline.ingest.boundary.prepare` in :func:`read_paths`, under a last-resort guard: an
exception while one item is read or prepared becomes one error line and the batch goes on.
"""
from __future__ import annotations

import csv
import json
import os
from collections import deque
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError
from ..models import Article
from .base import ReadReport, Reader
from .boundary import (IdRegistry, ItemRefused, checked_date, file_key, is_prepared, loads_json, namespaced_id,
                       path_digest, prepare, record_fields)
from .inputs import (MAX_ITEMS_PER_FILE, MAX_LINE_BYTES, check_text_file, iter_lines, open_regular,
                     wide_encoding)


_HEADLINE_MAX_WORDS = 25
_CLOSING = tuple('.!?…"”’\')]:;')
_FIELD_ALIASES = {
    "title": ("title", "headline", "TITLE"),
    "text": ("text", "body", "content", "description", "summary"),
    "url": ("url", "link", "URL"),
    "source": ("source", "outlet", "publisher", "PUBLISHER"),
    "published": ("published", "date", "timestamp", "pubdate", "TIMESTAMP"),
    "author": ("author", "byline"),
}
_ID_KEYS = ("id", "ID", "guid")
_LATER = "(set by prepare)"  # the content hash of an Article made for prepare, which sets it
_CSV_RECORD_LINES = 1_000  # a quoted field may span this many lines; beyond, its quote is taken as unclosed
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))


def guarded(report: ReadReport, where: str, build: Callable[[], Article | None]) -> Article | None:
    """``build()``, with any exception turned into one error line for the item at ``where``."""
    try:
        return build()
    except InputError as exc:
        report.error(exc.where if exc.where not in ("", "item") else where, exc.reason)
    except Exception as exc:  # noqa: BLE001 - the last-resort guard: one item never aborts a batch
        report.error(where, f"item could not be read ({type(exc).__name__}: {_short(exc)}); skipped")
    return None


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decode_lines(raw_lines: Iterable[bytes], where: str, report: ReadReport) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line that decodes as UTF-8; others are reported."""
    for number, line in _numbered(raw_lines):
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


def _numbered(lines: Iterable[Any]) -> Iterator[tuple[int, bytes]]:
    for n, item in enumerate(lines, start=1):
        yield item if isinstance(item, tuple) else (n, item)


def _decoded_lines(path: Path, report: ReadReport) -> Iterator[tuple[int, str]]:
    """The lines of a text file, after refusing it whole when it is not text."""
    try:
        handle = open_regular(path)
    except InputError as exc:
        report.error(exc.where, exc.reason)
        return
    with handle:
        refused = check_text_file(path, handle)
        if refused:
            report.error(str(path), refused)
            return
        wide = wide_encoding(handle.read(4))
        handle.seek(0)
        if wide:
            yield from _wide_lines(path, handle, wide, report)
            return

        def too_long(number: int, size: int) -> None:
            report.error(f"{path}:{number}", f"line is {size:,} bytes, more than the {MAX_LINE_BYTES:,}-byte cap; skipped")

        yield from decode_lines(iter_lines(handle, too_long), str(path), report)


def _wide_lines(path: Path, handle: Any, codec: str, report: ReadReport) -> Iterator[tuple[int, str]]:
    raw = handle.read(64 << 20)
    try:
        text = raw.decode(codec).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        report.error(str(path), f"not valid {codec.upper()} (byte offset {exc.start:,}); refused, nothing read")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        yield number, line


def json_records(lines: Iterable[tuple[int, str]], where: str, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each line holding a JSON object; bad lines are reported."""
    for number, line in lines:
        if not line.strip():
            continue
        at = f"{where}:{number}"
        try:
            record = loads_json(line)
        except json.JSONDecodeError as exc:
            report.error(at, f"malformed JSON ({exc.msg} at column {exc.colno}); line skipped")
            continue
        except RecursionError:
            report.error(at, "JSON nested too deeply to read; line skipped")
            continue
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            report.error(at, f"JSON value cannot be read ({_short(exc, 120)}); line skipped")
            continue
        if not isinstance(record, dict):
            report.error(at, f"expected a JSON object, found {type(record).__name__}")
            continue
        yield number, record


def _usable_id(given: Any) -> str | None:
    if isinstance(given, bool) or not isinstance(given, (str, int)) or given == "" or type(given) not in (str, int):
        return None
    return str(given) if isinstance(given, str) or given.bit_length() < 128 else None


class _ItemIds:
    """Ids for the items of one file, its path resolved once for the file (not once per item)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: str | None = None
        self._digest: str | None = None

    def __call__(self, number: int, given: Any = None) -> str:
        """A file's own id under that file (so two files never collide), else one from the line."""
        usable = _usable_id(given)
        if usable is not None:
            if self._key is None:
                self._key = file_key(self.path)
            return namespaced_id(self.path, usable, key=self._key)
        if self._digest is None:
            self._digest = path_digest(self.path)
        return f"{self.path.stem}-{self._digest}-{number}"


def _given_id(record: dict[str, Any]) -> Any:
    return next((record[k] for k in _ID_KEYS if record.get(k) not in (None, "")), None)


def article_from_record(record: dict[str, Any], *, item_id: str, origin: str) -> Article:
    """Build an Article from a loosely named dict (``headline``/``body``/``link`` accepted).

    Wrong-typed fields are coerced or refused at the boundary (:mod:`storyline.ingest.boundary`):
    a title or text that is an object refuses the item (``ValueError``); an optional field of
    the wrong type is dropped; an impossible date leaves the item undated.

    Raises:
        ValueError: no title and no text, or a title/text that is not text.
    """
    try:
        fields, date, _ = record_fields(record, _FIELD_ALIASES)
        published, _ = checked_date(date)
        return prepare(Article(id=item_id, published=published, origin=origin, content_hash=_LATER, **fields)).article
    except ItemRefused as exc:
        raise ValueError(exc.reason) from exc


def _record_article(path: Path, record: dict[str, Any], number: int, where: str, report: ReadReport,
                    ids: IdRegistry, item_ids: _ItemIds) -> Article | None:
    fields, date, warnings = record_fields(record, _FIELD_ALIASES)
    published, problem = checked_date(date)
    for warning in warnings + ([problem] if problem else []):
        report.warn(where, warning)
    given = _given_id(record)
    if given is not None and _usable_id(given) is None:
        report.warn(where, "field 'id' is not a string or number; the line number is used instead")
    # prepare hashes the cleaned title and text: the record's own hash (Article's default) is not made
    article = prepare(Article(id=item_ids(number, given), published=published, origin=where, content_hash=_LATER,
                              **fields)).article
    item_id, problem = ids.check(article.id, where, article.content_hash)
    if problem:
        report.warn(where, problem)
    if item_id is None:
        return None
    article.id = item_id
    return article


def read_plain_text(path: Path, report: ReadReport) -> Iterator[Article]:
    """Each non-empty line an item; a short line without closing punctuation is a headline."""
    from ..text import clean_text

    item_ids = _ItemIds(path)
    for number, line in _decoded_lines(path, report):
        line = clean_text(line)
        if not line:
            continue
        is_headline = len(line.split()) <= _HEADLINE_MAX_WORDS and not line.endswith(_CLOSING)
        yield Article(
            id=item_ids(number),
            title=line if is_headline else "",
            text="" if is_headline else line,
            origin=f"{path}:{number}",
        )


def read_jsonl(path: Path, report: ReadReport) -> Iterator[Article]:
    """One JSON object per line with ``title``, ``text`` and optional ``url``, ``source``,
    ``published``, ``id`` (ids are kept under the file's name; a repeated one is reported)."""
    ids, item_ids = IdRegistry(), _ItemIds(path)
    for number, record in json_records(_decoded_lines(path, report), str(path), report):
        where = f"{path}:{number}"
        article = guarded(report, where, lambda: _record_article(path, record, number, where, report, ids, item_ids))
        if article is not None:
            yield article


class _Runaway(Exception):
    """A CSV record spans more lines than a quoted field may (an unclosed quote)."""


class _CsvLines:
    """The lines fed to :mod:`csv`, remembering those of the current record so that a record
    swallowed by an unclosed quote can be re-read line by line."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self.source, self.pending = lines, deque[tuple[int, str]]()
        self.current: list[tuple[int, str]] = []

    def __iter__(self) -> "_CsvLines":
        return self

    def __next__(self) -> str:
        item = self.pending.popleft() if self.pending else next(self.source)
        self.current.append(item)
        if len(self.current) > _CSV_RECORD_LINES:
            raise _Runaway
        return item[1] + "\n"

    def start(self) -> None:
        self.current = []

    def replay_after_first(self) -> int:
        """Put back every line of the current record but its first; return the first's number."""
        first = self.current[0][0] if self.current else 0
        self.pending.extendleft(reversed(self.current[1:]))
        self.current = []
        return first


def _rows_of_their_own(lines: list[tuple[int, str]], width: int, dialect: str) -> bool:
    """Whether every one of ``lines``, read alone, is a complete row of ``width`` fields."""
    for _, text in lines[:50]:
        if text.count('"') % 2:
            return False
        try:
            row = next(csv.reader([text], dialect=dialect), [])
        except csv.Error:
            return False
        if len(row) != width:
            return False
    return len(lines) <= 50


def read_csv(path: Path, report: ReadReport) -> Iterator[Article]:
    """A header row naming the columns (``title``, ``text``, ``url``, ``source``, ``published``).

    A row that cannot be parsed (an unclosed quote, a field over the cap, a wrong number of
    fields) is reported and skipped; reading resumes on the next line."""
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    lines = _CsvLines(iter(_decoded_lines(path, report)))
    reader = csv.reader(lines, dialect=dialect)
    header: list[str] | None = None
    ids, item_ids = IdRegistry(), _ItemIds(path)
    while True:
        lines.start()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, _Runaway) as exc:
            first = lines.replay_after_first()
            reason = "a quoted field never closes" if isinstance(exc, _Runaway) else f"malformed CSV ({exc})"
            report.error(f"{path}:{first}", f"{reason}; row skipped, reading goes on with the next line")
            reader = csv.reader(lines, dialect=dialect)
            continue
        span = list(lines.current)
        if header is None:
            header = row
            continue
        where = f"{path}:{span[0][0] if span else reader.line_num}"
        if len(span) > 1 and _rows_of_their_own(span[1:], len(header), dialect):
            # the lines a quoted field swallowed are each a whole row: the quote was never closed
            lines.current = span
            lines.replay_after_first()
            reader = csv.reader(lines, dialect=dialect)
            report.error(where, "a quoted field never closes (the lines after it are rows of their own); "
                                "row skipped, reading goes on with the next line")
            continue
        if len(row) != len(header):
            if len(span) > 1:  # an unclosed quote swallowed the lines after it: re-read them
                lines.current = span
                lines.replay_after_first()
                reader = csv.reader(lines, dialect=dialect)
            report.error(where, f"row has a different number of fields ({len(row)}) than the header ({len(header)}); "
                                "row skipped")
            continue
        record = dict(zip(header, row))
        number = span[0][0] if span else reader.line_num
        article = guarded(report, where, lambda: _record_article(path, record, number, where, report, ids, item_ids))
        if article is not None:
            yield article


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


def _reader_in(module: str, name: str) -> Reader:
    """The reader ``name`` of ``storyline.ingest.<module>``, imported on its first use: feeds,
    OPML lists, HTML pages and WARC archives need feedparser, lxml, trafilatura and warcio (about
    half a second of imports), which reading JSONL, CSV or text never does."""

    def read(path: Path, report: ReadReport) -> Iterator[Article]:
        yield from getattr(import_module(f".{module}", __package__), name)(path, report)

    read.__name__ = read.__qualname__ = name
    return read


# Readers for feeds, OPML lists, HTML pages and WARC archives live in their own modules.
read_feed_file = _reader_in("feeds", "read_feed_file")
read_opml_file = _reader_in("opml", "read_opml_file")
read_html_file = _reader_in("pages", "read_html_file")
read_warc_file = _reader_in("warc", "read_warc_file")


def read_json(path: Path, report: ReadReport) -> Iterator[Article]:
    """A ``.json`` file is a JSON Feed when it looks like one, JSON lines otherwise."""
    from .feeds import looks_like_json_feed

    try:
        with open_regular(path) as fh:
            head = fh.read(4096)
    except InputError as exc:
        report.error(exc.where, exc.reason)
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
_ITEM_LIST_READERS = (read_plain_text, read_jsonl, read_csv, read_json)
_PREPARING_READERS = (read_jsonl, read_csv)  # every article they give passed prepare (_record_article)


def _empty(path: Path, reader: Reader) -> bool:
    """Whether a file that gave no items (and no errors) is worth a line: a text/JSONL/CSV file,
    or any file of 0 bytes (a feed with no entries right now is not a problem)."""
    if reader in _ITEM_LIST_READERS:
        return True
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    double = "".join(suffixes)
    return double if double in READERS else (suffixes[-1] if suffixes else "")


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):
        return False


def _walk_folder(folder: Path, report: ReadReport) -> list[Path]:
    """Readable files of a folder, symlinks followed only when they stay inside it."""
    root = folder.resolve()
    found: list[Path] = []
    for current, dirs, files in os.walk(folder, followlinks=False, onerror=lambda e: report.error(
            str(e.filename or folder), f"cannot list folder ({e.strerror or e})")):
        base = Path(current)
        for name in sorted(dirs):
            link = base / name
            if link.is_symlink() and not _inside(link, root):
                report.error(str(link), f"symlink to a folder outside {folder} ({_target(link)}); not followed")
        for name in sorted(files):
            path = base / name
            if _suffix(path) not in READERS:
                continue
            if path.is_symlink() and not _inside(path, root):
                report.error(str(path), f"symlink to a file outside {folder} ({_target(path)}); not followed")
                continue
            found.append(path)
    return sorted(found)


def _target(link: Path) -> str:
    try:
        return f"points to {os.readlink(link)}"
    except OSError:
        return "unreadable link"


def _expand(paths: Iterable[str | Path], report: ReadReport) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        try:
            path.lstat()
        except FileNotFoundError:
            report.error(str(path), "no such file or folder")
            continue
        except (OSError, ValueError) as exc:  # a name too long, a symlink loop, ...
            report.error(str(path), f"cannot read it ({getattr(exc, 'strerror', None) or exc})")
            continue
        if path.is_dir():
            found = _walk_folder(path, report)
            if not found:
                report.error(str(path), f"folder holds no readable files ({', '.join(sorted(READERS))})")
            yield from found
        elif path.exists() or path.is_symlink():
            yield path
        else:
            report.error(str(path), "no such file or folder")


def read_paths(paths: Iterable[str | Path], report: ReadReport | None = None) -> Iterator[Article]:
    """Articles from every file and folder in ``paths``; unknown suffixes read as plain text.

    Every article passes :func:`~storyline.ingest.boundary.prepare`. An exception while one item
    is read or prepared becomes one error line (file, line or offset, reason) and reading goes
    on; a file that yields nothing and reports nothing is reported as empty."""
    report = report if report is not None else ReadReport()
    for path in _expand(paths, report):
        reader = READERS.get(_suffix(path), read_plain_text)
        report.files += 1
        errors_before, count = len(report.errors), 0
        items = reader(path, report)
        while True:
            try:
                article = next(items)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - the reader itself broke: this file stops, the batch goes on
                report.error(str(path), f"reading stopped after {count} item(s) ({type(exc).__name__}: "
                                        f"{_short(exc)}); the rest of this file was not read")
                break
            # the record readers prepare each article (its id may change after): a second prepare
            # only costs, unless it would still change something
            prepared = article if reader in _PREPARING_READERS and is_prepared(article) else _prepared(article, report)
            if prepared is None:
                continue
            count += 1
            if count > MAX_ITEMS_PER_FILE:
                report.error(str(path), f"holds more than {MAX_ITEMS_PER_FILE:,} items; the rest was not read")
                items.close()
                break
            report.items += 1
            yield prepared
        if count == 0 and len(report.errors) == errors_before and _empty(path, reader):
            report.error(str(path), "is empty: no items found in it")


def _prepared(article: Article, report: ReadReport) -> Article | None:
    where = article.origin or article.id
    try:
        result = prepare(article)
    except InputError as exc:
        report.error(exc.where, exc.reason)
        return None
    except Exception as exc:  # noqa: BLE001 - last-resort guard per item
        report.error(where, f"item could not be prepared ({type(exc).__name__}: {_short(exc)}); skipped")
        return None
    for warning in result.warnings:
        report.warn(result.article.origin, warning)
    return result.article


__all__ = ["READERS", "ReadReport", "read_paths", "article_from_record", "guarded", "Reader"]
