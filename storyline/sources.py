"""The source registry: what each outlet is (domains, country, language, kind, lean), and where
that description came from.

Articles name their outlet as free text (a feed's title, a page's site name). A registered outlet
claims an article's outlet name when the names are equal (ignoring case) or when the host of the
outlet name's articles is one of its domains (``www.`` and subdomains included); see
:func:`resolve`. The registry is kept in the ``sources`` table (migration 0011), managed with
``storyline sources`` and ``/api/sources``, and round-trips through CSV (:data:`CSV_COLUMNS`).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import StorylineError

if TYPE_CHECKING:
    from .store.base import SQLStore

KINDS = ("wire", "national", "local", "public broadcaster", "magazine", "trade", "blog", "aggregator", "other")
LEANS = ("left", "centre-left", "centre", "centre-right", "right")
CSV_COLUMNS = ("name", "domains", "country", "language", "kind", "lean", "note")
MAX_NAME, MAX_NOTE, MAX_DOMAINS = 200, 1000, 20
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")


class SourceError(StorylineError):
    """A registry entry is invalid or missing; ``not_found`` tells which."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True, slots=True)
class Outlet:
    """One registered outlet."""

    name: str
    domains: tuple[str, ...] = ()
    country: str = ""
    language: str = ""
    kind: str = ""
    lean: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["domains"] = list(self.domains)
        return d

    def csv_row(self) -> dict[str, str]:
        return {**{k: str(v) for k, v in asdict(self).items()}, "domains": " ".join(self.domains)}


def domain_of(value: str) -> str:
    """A bare lower-case host name from a domain or URL (``https://www.X.example/a`` -> ``x.example``)."""
    text = value.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    return host.removeprefix("www.").rstrip(".")


def _clean_domains(values: Iterable[str], where: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if not value.strip():
            continue
        host = domain_of(value)
        if not _HOST.match(host):
            raise SourceError(f"{where}: {value[:80]!r} is not a domain name (like example.com)")
        if host not in out:
            out.append(host)
    if len(out) > MAX_DOMAINS:
        raise SourceError(f"{where}: at most {MAX_DOMAINS} domains per outlet")
    return tuple(out)


def validate(outlet: Outlet) -> Outlet:
    """``outlet`` with its fields normalized.

    Raises:
        SourceError: naming the field and what is wrong with it.
    """
    name = " ".join(outlet.name.split())
    where = f"outlet {name[:60]!r}" if name else "outlet"
    if not name or len(name) > MAX_NAME:
        raise SourceError(f"{where}: a name is required, at most {MAX_NAME} characters")
    kind = " ".join(outlet.kind.lower().split())
    if kind and kind not in KINDS:
        raise SourceError(f"{where}: kind {outlet.kind[:40]!r} is not one of {', '.join(KINDS)}")
    lean = " ".join(outlet.lean.lower().split()).replace("center", "centre")
    if lean and lean not in LEANS:
        raise SourceError(f"{where}: lean {outlet.lean[:40]!r} is not one of {', '.join(LEANS)} (or empty)")
    language = outlet.language.strip()
    if language and not _LANGUAGE.match(language):
        raise SourceError(f"{where}: language {language[:20]!r} is not a language code like en or pt-BR")
    country = " ".join(outlet.country.split())
    if len(country) > 60:
        raise SourceError(f"{where}: country is at most 60 characters (an ISO code like GB, or a name)")
    note = " ".join(outlet.note.split())
    if len(note) > MAX_NOTE:
        raise SourceError(f"{where}: note is at most {MAX_NOTE} characters")
    return Outlet(name, _clean_domains(outlet.domains, where), country, language, kind, lean, note)


def outlet_from(data: dict[str, Any], *, base: Outlet | None = None) -> Outlet:
    """An outlet from a dict of fields (``domains`` a list or a space/semicolon/comma-separated
    string), on top of ``base`` when editing; validated."""
    known = {f.name for f in fields(Outlet)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SourceError(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(CSV_COLUMNS)}")
    values = {k: v for k, v in data.items() if v is not None}
    if "domains" in values and isinstance(values["domains"], str):
        values["domains"] = tuple(re.split(r"[\s;,]+", values["domains"]))
    if "domains" in values:
        values["domains"] = tuple(str(d) for d in values["domains"])
    for key in ("name", "country", "language", "kind", "lean", "note"):
        if key in values:
            values[key] = str(values[key])
    outlet = replace(base, **values) if base is not None else Outlet(**values)
    return validate(outlet)


# -- storage -----------------------------------------------------------------------------------
def _row(r: Any) -> Outlet:
    return Outlet(r["name"], tuple(r["domains"].split()), r["country"], r["language"], r["kind"], r["lean"], r["note"])


def list_outlets(store: SQLStore) -> list[Outlet]:
    """Every registered outlet, by name."""
    return [_row(r) for r in store.db.execute("SELECT * FROM sources ORDER BY lower(name), name")]


def get_outlet(store: SQLStore, name: str) -> Outlet | None:
    row = store.db.execute("SELECT * FROM sources WHERE lower(name) = lower(?)", (name,)).fetchone()
    return None if row is None else _row(row)


def _write(store: SQLStore, outlet: Outlet) -> None:
    store.db.execute(
        "INSERT INTO sources (name, domains, country, language, kind, lean, note, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET domains = excluded.domains, "
        "country = excluded.country, language = excluded.language, kind = excluded.kind, lean = excluded.lean, "
        "note = excluded.note, updated_at = excluded.updated_at",
        (outlet.name, " ".join(outlet.domains), outlet.country, outlet.language, outlet.kind, outlet.lean,
         outlet.note, datetime.now(UTC).isoformat(timespec="seconds")),
    )


def add_outlet(store: SQLStore, outlet: Outlet) -> Outlet:
    """Register a new outlet.

    Raises:
        SourceError: invalid, or an outlet of that name (ignoring case) is registered.
    """
    outlet = validate(outlet)
    with store.transaction():
        if get_outlet(store, outlet.name) is not None:
            raise SourceError(f"outlet {outlet.name!r} is already registered; edit it instead")
        _write(store, outlet)
    return outlet


def edit_outlet(store: SQLStore, name: str, changes: dict[str, Any]) -> tuple[Outlet, Outlet]:
    """Change a registered outlet's fields (``name`` renames it); returns (before, after).

    Raises:
        SourceError: no such outlet, an invalid value, or a rename onto another outlet's name.
    """
    with store.transaction():
        before = get_outlet(store, name)
        if before is None:
            raise SourceError(f"no registered outlet {name!r}; list them with `storyline sources list`",
                              not_found=True)
        after = outlet_from(changes, base=before)
        if after.name.lower() != before.name.lower() and get_outlet(store, after.name) is not None:
            raise SourceError(f"cannot rename {before.name!r} to {after.name!r}: that outlet is registered")
        store.db.execute("DELETE FROM sources WHERE name = ?", (before.name,))
        _write(store, after)
    return before, after


def put_outlet(store: SQLStore, outlet: Outlet) -> None:
    """Write ``outlet`` as it is (replacing one of the same name; used by undo)."""
    with store.transaction():
        store.db.execute("DELETE FROM sources WHERE lower(name) = lower(?)", (outlet.name,))
        _write(store, validate(outlet))


def remove_outlet(store: SQLStore, name: str) -> None:
    with store.transaction():
        store.db.execute("DELETE FROM sources WHERE lower(name) = lower(?)", (name,))


# -- CSV and OPML ------------------------------------------------------------------------------
def to_csv(outlets: Sequence[Outlet]) -> str:
    """The registry as CSV with a header row (:data:`CSV_COLUMNS`); domains space-separated."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for outlet in outlets:
        writer.writerow(outlet.csv_row())
    return buf.getvalue()


def read_csv(text: str, *, origin: str = "CSV") -> tuple[list[Outlet], list[str]]:
    """Outlets from CSV text (header row naming :data:`CSV_COLUMNS`; ``name`` required, the rest
    optional), and one error message per row that could not be read (naming its line)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "name" not in header:
        raise SourceError(f"{origin}: the first row must name the columns, with at least `name` "
                          f"(columns: {', '.join(CSV_COLUMNS)})")
    unknown = sorted(set(header) - set(CSV_COLUMNS) - {""})
    if unknown:
        raise SourceError(f"{origin}: unknown column(s) {', '.join(unknown)}; columns are {', '.join(CSV_COLUMNS)}")
    outlets, errors = [], []
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(f"{origin}:{line}: more fields than columns (quote a value that holds a comma)")
            continue
        values = {k.strip().lower(): (v or "") for k, v in row.items() if k}
        try:
            outlets.append(outlet_from({k: v for k, v in values.items() if k in CSV_COLUMNS}))
        except SourceError as exc:
            errors.append(f"{origin}:{line}: {exc}")
    return outlets, errors


def from_opml(data: bytes, *, origin: str = "OPML") -> tuple[list[Outlet], list[str]]:
    """Outlets named by an OPML file's feed titles, with the domains of their site and feed links
    (kind and the rest left empty; the note says where they came from)."""
    from .ingest.opml import parse_opml

    outlets, errors, seen = [], [], set()
    for feed in parse_opml(data, origin=origin):
        name = " ".join(feed.title.split()) or domain_of(feed.html_url or feed.url)
        if not name or name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            outlets.append(outlet_from({"name": name, "domains": [d for d in (feed.html_url, feed.url) if d],
                                        "note": f"from the OPML file {Path(origin).name}"}))
        except SourceError as exc:
            errors.append(f"{origin}: {exc}")
    return outlets, errors


def import_outlets(store: SQLStore, outlets: Sequence[Outlet]) -> tuple[int, int]:
    """Add or update ``outlets`` (matched by name, ignoring case); returns (added, updated).
    Updates from OPML keep fields the OPML does not know (kind, country, lean ...)."""
    added = updated = 0
    with store.transaction():
        for outlet in outlets:
            current = get_outlet(store, outlet.name)
            if current is None:
                _write(store, outlet)
                added += 1
                continue
            merged = Outlet(current.name, tuple(dict.fromkeys(current.domains + outlet.domains))[:MAX_DOMAINS],
                            outlet.country or current.country, outlet.language or current.language,
                            outlet.kind or current.kind, outlet.lean or current.lean, outlet.note or current.note)
            if merged != current:
                _write(store, merged)
                updated += 1
    return added, updated


def import_file(store: SQLStore, path: str | Path) -> tuple[int, int, list[str]]:
    """Import a CSV (or, by its ``.opml``/``.xml`` suffix, OPML) file: (added, updated, row errors).

    Raises:
        SourceError: the file cannot be read or has no usable header.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if path.suffix.lower() in (".opml", ".xml"):
        outlets, errors = from_opml(data, origin=str(path))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        outlets, errors = read_csv(text, origin=str(path))
    added, updated = import_outlets(store, outlets)
    return added, updated, errors


# -- matching articles to outlets ----------------------------------------------------------------
def resolve(store: SQLStore, outlets: Sequence[Outlet] | None = None) -> dict[str, Outlet]:
    """For each outlet name found on stored articles, the registered outlet it is (if any): the
    one of the same name (ignoring case), else the one whose domain is the host (or a parent of
    the host) of that name's articles."""
    outlets = list_outlets(store) if outlets is None else outlets
    if not outlets:
        return {}
    by_name = {o.name.lower(): o for o in outlets}
    by_domain = {d: o for o in outlets for d in o.domains}
    out: dict[str, Outlet] = {}
    for source, url in store.db.execute(  # one index seek per outlet name (migration 0041), not every article
            "WITH RECURSIVE v(x) AS (SELECT min(source) FROM articles WHERE source <> '' UNION ALL "
            "SELECT (SELECT min(source) FROM articles WHERE source > v.x) FROM v WHERE v.x IS NOT NULL) "
            "SELECT x, (SELECT max(url) FROM articles WHERE source = v.x) FROM v WHERE x IS NOT NULL"):
        found = by_name.get(source.lower())
        if found is None and url:
            host = domain_of(url)
            while host and found is None:
                found = by_domain.get(host)
                host = host.partition(".")[2] if "." in host else ""
        if found is not None:
            out[source] = found
    return out


__all__ = [
    "CSV_COLUMNS", "KINDS", "LEANS", "Outlet", "SourceError", "add_outlet", "domain_of", "edit_outlet",
    "from_opml", "get_outlet", "import_file", "import_outlets", "list_outlets", "outlet_from", "put_outlet",
    "read_csv", "remove_outlet", "resolve", "to_csv", "validate",
]
