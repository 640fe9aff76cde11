"""The one boundary between outside data and an :class:`Article`.

Every reader (files, feeds, pages, WARC records, fetched URLs) hands what it found to this
module before an article leaves the ingest package, so nothing raw reaches the store or a
renderer:

- **types**: a field must be text; numbers become their decimal text, a list of plain values is
  joined, anything else (an object, ``true``, a 5,000-digit number, ``NaN``) refuses the item when
  it is the title or text, and drops the field with a warning otherwise;
- **strings**: lone surrogates, C0/C1 control characters (``\\n`` and ``\\t`` kept; CR, VT, FF
  and the Unicode line separators become line breaks) and the XML non-characters U+FFFE/U+FFFF
  are removed, so a stored value is valid UTF-8, valid XML text and safe to print on a
  terminal; single-line fields (title, outlet, author, URL, id) lose their line breaks; each
  field has a length cap;
- **dates**: a date before 1900 or more than two days ahead of now is dropped with a warning
  (the item is kept, undated) — a clamped date would be a false one;
- **URLs**: only absolute http(s) URLs are kept (the scheme in any case, stored lower-case), for
  the canonical ``url`` and the ``fetched_url`` alike;
- **ids**: :func:`namespaced_id` puts a file's own ids under that file, and :class:`IdRegistry`
  reports an id repeated inside one file instead of dropping the item.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import Article, content_hash
from ..text import clean_text
from ..text.clean import is_clean
from .dates import parse_date

EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=2)
MAX_CHARS = {"title": 1_000, "text": 2_000_000, "url": 4_096, "source": 200, "author": 300, "language": 16,
             "id": 256, "origin": 4_096}
MAX_NUMBER_DIGITS = 30

# Lone surrogates (any surrogate code point in a Python str is unpaired), C0 and C1 controls except
# tab/newline and the line-breaking ones handled below, DEL, and the XML non-characters.
_DROP = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]{0,32}[ -/]{0,8}[@-~]|\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)?|[@-Z\\-_])")
_SPACES = re.compile(r"\s+")
# a character clean_string may change (any of the three above; with tab and newline, in one line)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


class ItemRefused(InputError):
    """An item that cannot become an article (no title and text, or a title/text of the wrong type)."""


@dataclass(slots=True)
class Prepared:
    """An article that passed the boundary and what was changed on the way (one line each)."""

    article: Article
    warnings: list[str] = field(default_factory=list)


def clean_string(value: str, *, single_line: bool = False) -> str:
    """``value`` without lone surrogates, terminal escape sequences and control characters.

    Line breaks of every kind become ``\\n`` (or a space when ``single_line``); tabs are kept.
    """
    if not value:
        return ""
    if not (_UNSAFE_LINE if single_line else _UNSAFE).search(value):
        return value
    if "\x1b" in value:
        value = _ESCAPE_SEQUENCE.sub("", value)
    value = _BREAKS.sub("\n", value)
    value = _DROP.sub("", value)
    if single_line and ("\n" in value or "\t" in value):
        value = _SPACES.sub(" ", value).strip()
    return value


class FieldTypeError(ValueError):
    """A field holds a value that is not text (an object, a boolean, a huge number...)."""


def coerce_text(value: Any, name: str) -> str:
    """The text of a field: strings as they are, numbers as decimal text, a list of plain values
    joined (lines for ``text``, commas otherwise).

    Raises:
        FieldTypeError: the value is an object, a boolean, NaN/infinity, a number of more than
            :data:`MAX_NUMBER_DIGITS` digits, or a list holding such values.
    """
    if value is None:
        return ""
    if isinstance(value, HugeNumber):
        raise FieldTypeError(f"field {name!r} is a number of {len(value):,} digits, not text")
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise FieldTypeError(f"field {name!r} is {str(value).lower()}, not text")
    if isinstance(value, int):
        if value.bit_length() > MAX_NUMBER_DIGITS * 3.33:
            raise FieldTypeError(f"field {name!r} is a number of about {int(value.bit_length() / 3.32):,} digits, not text")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 10 ** MAX_NUMBER_DIGITS:
            raise FieldTypeError(f"field {name!r} is the number {value!r}, not text")
        return repr(value)
    if isinstance(value, (list, tuple)):
        parts = []
        for part in value[:1000]:
            if isinstance(part, (list, tuple, dict)):
                raise FieldTypeError(f"field {name!r} is a list holding {type(part).__name__}s, not text")
            parts.append(coerce_text(part, name))
        return ("\n" if name == "text" else ", ").join(p for p in parts if p)
    if isinstance(value, HugeNumber):
        raise FieldTypeError(f"field {name!r} is a number of {len(value):,} digits, not text")
    kind = "an object" if isinstance(value, dict) else f"a {type(value).__name__}"
    raise FieldTypeError(f"field {name!r} is {kind}, not text")


def checked_date(value: Any, *, now: datetime | None = None) -> tuple[datetime | None, str]:
    """``(date, warning)``: the parsed date when it lies between 1900 and two days from now,
    else ``(None, why)``; ``(None, "")`` for an absent value."""
    if value is None or value == "":
        return None, ""
    dt = parse_date(value)
    if dt is None:
        return None, f"date {_shown(value)} is not a date; dropped (the item is kept undated)"
    latest = (now or datetime.now(timezone.utc)) + FUTURE_SLACK
    try:
        utc = dt.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= latest:
        return None, (f"date {_shown(value)} is outside {EARLIEST:%Y} to two days from now; dropped "
                      "(the item is kept undated)")
    return utc, ""


def _shown(value: Any, limit: int = 60) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, HugeNumber):
        return f"<a {len(value):,}-digit number>"
    if isinstance(value, int) and value.bit_length() > 200:
        return f"<a {int(value.bit_length() / 3.32):,}-digit number>"
    try:
        text = repr(value) if not isinstance(value, str) else repr(clean_string(value, single_line=True))
    except ValueError:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]{0,30}):")


def checked_url(value: str) -> tuple[str, str]:
    """``(url, warning)``: an http(s) URL with its scheme lower-cased (``HTTP://X`` is a URL), or
    a relative one as given (a feed read from a file has no base to resolve it against; pages
    link only absolute http(s) URLs); any other scheme (``javascript:``, ``file:``, ``data:``)
    gives ``("", why)``."""
    url = clean_string(value, single_line=True).strip()
    if not url:
        return "", ""
    if len(url) > MAX_CHARS["url"]:
        return "", f"url is {len(url):,} characters, more than {MAX_CHARS['url']:,}; dropped"
    scheme = _SCHEME.match(url)
    if scheme is None:
        return url, ""
    if scheme.group(1).lower() not in ("http", "https"):
        return "", f"url {_shown(url)} is not an http(s) URL; dropped"
    return scheme.group(1).lower() + url[scheme.end(1):], ""


def _capped(value: str, name: str, warnings: list[str]) -> str:
    limit = MAX_CHARS[name]
    if len(value) <= limit:
        return value
    cut = value[:limit]
    space = cut.rfind(" ", limit - 200)
    warnings.append(f"{name} is {len(value):,} characters, cut to {limit:,}")
    return cut[:space] if space > 0 else cut


def checked_id(value: str) -> str:
    """An id safe to store: cleaned, single-line; a long one is replaced by its hash."""
    text = clean_string(value, single_line=True).strip()
    if len(text) > MAX_CHARS["id"] or text != value:
        return "h" + hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:24] if text else ""
    return text


_PACKAGE = Path(__file__).resolve().parents[1]  # the installed storyline package


def path_identity(path: Path) -> str:
    """What names a file in its items' ids and in what the store remembers of it: its absolute
    path, or for a file that ships inside storyline (the demo corpus) its path within the
    package, so that file gives the same ids wherever storyline is installed (a new virtualenv
    or clone running ``storyline demo`` against the same data folder adds nothing again)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return str(path.absolute())
    if resolved.is_relative_to(_PACKAGE):
        return "storyline:" + resolved.relative_to(_PACKAGE).as_posix()
    return str(resolved)


def path_digest(path: Path) -> str:
    """A short hash of :func:`path_identity`."""
    return hashlib.sha1(path_identity(path).encode("utf-8", "surrogateescape")).hexdigest()[:8]


def file_key(path: Path) -> str:
    """A short, stable name for a file: its stem and :func:`path_digest`."""
    return f"{clean_string(path.stem, single_line=True)[:40]}-{path_digest(path)}"


def namespaced_id(path: Path, given: str, *, key: str | None = None) -> str:
    """``given`` (an id a file assigned) under that file, so two exports that both number from 1
    never collide; ``key``: the file's :func:`file_key`, when the caller already has it."""
    return f"{key or file_key(path)}:{checked_id(given)}"


class IdRegistry:
    """Ids seen in one file: an id used twice is reported, never silently dropped."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str]] = {}

    def check(self, item_id: str, where: str, digest: str) -> tuple[str | None, str]:
        """``(id to use, warning)``: the id itself when new; ``(None, why)`` for an exact repeat of
        an earlier item (same id, same content); a distinct id (``id#line``) with a warning
        when the content differs."""
        first = self._seen.get(item_id)
        if first is None:
            self._seen[item_id] = (where, digest)
            return item_id, ""
        first_where, first_digest = first
        if first_digest == digest:
            return None, f"id {_shown(item_id)} repeats the same item as {first_where}; skipped"
        suffix = where.rsplit(":", 1)[-1] if ":" in where else str(len(self._seen))
        new_id = f"{item_id}#{suffix}"
        self._seen.setdefault(new_id, (where, digest))
        return new_id, f"id {_shown(item_id)} is already used by {first_where} with other content; stored as {new_id!r}"


def prepare(article: Article, *, now: datetime | None = None) -> Prepared:
    """Validate and normalise an article built by a reader (the last step before it leaves the
    ingest package). Idempotent.

    Raises:
        ItemRefused: nothing is left of the title and the text.
    """
    warnings: list[str] = []
    where = clean_string(str(article.origin), single_line=True)[: MAX_CHARS["origin"]] or "item"
    title = _capped(clean_text(clean_string(article.title, single_line=True)), "title", warnings)
    text = _capped(clean_text(clean_string(article.text)), "text", warnings)
    if not title and not text:
        raise ItemRefused(where, "item has neither a title nor a text (after removing control characters)")
    url, problem = checked_url(article.url)
    if problem:
        warnings.append(problem)
    fetched_url, problem = checked_url(article.fetched_url) if article.fetched_url else ("", "")
    if problem:
        warnings.append(problem.replace("url ", "fetched url ", 1))
    published, problem = _date_field(article.published, now)
    if problem:
        warnings.append(problem)
    fetched_at, _ = _date_field(article.fetched_at, now)
    item_id = checked_id(str(article.id)) or "h" + hashlib.sha1(where.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    cleaned = replace(
        article, id=item_id, title=title, text=text, url=url, fetched_url=fetched_url,
        source=_capped(clean_text(clean_string(article.source, single_line=True)), "source", warnings),
        author=_capped(clean_text(clean_string(article.author, single_line=True)), "author", warnings),
        language=clean_string(article.language, single_line=True).strip().lower()[: MAX_CHARS["language"]],
        origin=where, published=published, fetched_at=fetched_at, content_hash=content_hash(title, text),
    )
    return Prepared(cleaned, warnings)


def is_prepared(article: Article, *, now: datetime | None = None) -> bool:
    """Whether :func:`prepare` would give ``article`` back unchanged and without a warning, for an
    article whose ``content_hash`` is its title's and text's (one :func:`prepare` made, its id
    changed since or not): every field already cleaned, within its cap and checked. Cheaper than
    :func:`prepare` (plain text passes one scan); ``False`` whenever a field would change, e.g. an
    entity left by decoding one (``&amp;lt;``)."""
    if not (article.title or article.text) or not article.id or not isinstance(article.id, str):
        return False
    for name, value in (("title", article.title), ("text", article.text), ("source", article.source),
                        ("author", article.author)):
        if value and (len(value) > MAX_CHARS[name] or clean_string(value, single_line=name != "text") != value
                      or not is_clean(value)):
            return False
    where = clean_string(str(article.origin), single_line=True)[: MAX_CHARS["origin"]] or "item"
    language = article.language
    if (where != article.origin or checked_id(article.id) != article.id
            or clean_string(language, single_line=True).strip().lower()[: MAX_CHARS["language"]] != language):
        return False
    for url in (article.url, article.fetched_url):
        if url and checked_url(url) != (url, ""):
            return False
    return all(value is None or checked_date(value, now=now)[0] is value
               for value in (article.published, article.fetched_at))


def _date_field(value: datetime | None, now: datetime | None) -> tuple[datetime | None, str]:
    return (None, "") if value is None else checked_date(value, now=now)


def record_fields(record: dict[str, Any], aliases: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], Any, list[str]]:
    """The text fields of a loosely named record (``headline``/``body``/``link`` accepted),
    its raw date, and warnings for optional fields dropped for their type.

    Raises:
        ItemRefused: the title or text holds a value that is not text.
    """
    out: dict[str, str] = {}
    warnings: list[str] = []
    date: Any = None
    for name, keys in aliases.items():
        value = next((record[k] for k in keys if record.get(k) not in (None, "")), None)
        if name == "published":
            date = value
            continue
        try:
            out[name] = clean_string(coerce_text(value, name), single_line=name != "text")
        except FieldTypeError as exc:
            if name in ("title", "text"):
                raise ItemRefused("item", f"{exc}; item skipped") from exc
            warnings.append(f"{exc}; field dropped")
            out[name] = ""
    return out, date, warnings


__all__ = ["EARLIEST", "FUTURE_SLACK", "MAX_CHARS", "FieldTypeError", "IdRegistry", "ItemRefused", "Prepared",
           "checked_date", "checked_id", "checked_url", "clean_string", "coerce_text", "file_key", "is_prepared",
           "namespaced_id", "loads_json", "path_digest", "path_identity", "prepare", "prune_json_depth", "record_fields"]


# ---------------------------------------------------------------- JSON at the boundary

MAX_JSON_DEPTH = 100
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


class HugeNumber(str):
    """A JSON integer too long to convert (over 4,300 digits): kept as its digits, never a field."""


def _parse_int(digits: str) -> int | HugeNumber:
    return int(digits) if len(digits) <= 1000 else HugeNumber(digits)


def loads_json(text: str) -> Any:
    """``json.loads`` that never raises on size: integers of more than 1,000 digits become
    :class:`HugeNumber`; values nested deeper than :data:`MAX_JSON_DEPTH` become ``null`` (so
    one hostile item of a JSON Feed does not take its neighbours with it).

    Raises:
        json.JSONDecodeError: not JSON.
    """
    import json

    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        return json.loads(prune_json_depth(text), parse_int=_parse_int)


def prune_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> str:
    """``text`` with every array or object opened deeper than ``limit`` replaced by ``null``
    (one linear pass over strings and brackets)."""
    out: list[str] = []
    depth, cut_from, last = 0, -1, 0
    for token in _JSON_TOKEN.finditer(text):
        ch = token.group()
        if ch in "[{":
            depth += 1
            if depth == limit + 1 and cut_from < 0:
                cut_from = token.start()
        elif ch in "]}":
            if depth == limit + 1 and cut_from >= 0:
                out.append(text[last:cut_from])
                out.append("null")
                last, cut_from = token.end(), -1
            depth -= 1
    if cut_from >= 0:  # never closed: cut to the end (the document is broken anyway)
        out.append(text[last:cut_from])
        out.append("null")
        last = len(text)
    out.append(text[last:])
    return "".join(out)
