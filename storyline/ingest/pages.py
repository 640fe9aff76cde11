"""Article pages -> Article: trafilatura extraction of title, text, author, date, language and
canonical URL from HTML, for fetched pages, local ``.html``/``.htm``/``.html.gz`` files and
WARC records; plus teaser detection, so a feed entry with only a summary gets its page read.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import trafilatura

from ..errors import ExtractionError, IngestError, InputError
from ..models import Article
from ..text import clean_text, detect_language
from ..text.titles import trim_title
from .base import ReadReport, stable_id
from .boundary import ItemRefused, checked_date, path_identity, prepare
from .inputs import SNIFF_BYTES, binary_reason, open_regular, read_capped
from .feeds import html_to_text


TEASER_MAX_WORDS = 60
MAX_PAGE_BYTES = 10_000_000
MIN_TEXT_WORDS = 1  # below this the first extraction is retried favouring recall (measured: retrying
# pages under 10 or 25 words only adds boilerplate on html/trafilatura-news)


def _extract(html: bytes | str, url: str, *, favor_recall: bool) -> Any:
    return trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=True,
        favor_recall=favor_recall, deduplicate=False,
    )


def _field(doc: Any, name: str) -> str:
    value = getattr(doc, name, None) if not isinstance(doc, dict) else doc.get(name)
    return str(value).strip() if value else ""


def strip_site_name(title: str, sitename: str = "", host: str = "") -> str:
    """``title`` without a trailing (or leading) `` - Outlet`` / `` | Outlet`` part naming the site
    (:func:`storyline.text.titles.trim_title` with the site known)."""
    return trim_title(title, site=(sitename, host))


def extract_article(html: bytes | str, *, url: str = "", origin: str = "", source: str = "",
                    fetched_at: datetime | None = None, article_id: str = "") -> Article:
    """Extract the article of one HTML page.

    Args:
        html: the page; bytes are decoded by trafilatura (charset from the page or guessed).
        url: the URL it was fetched from (helps metadata and relative links).
        origin: where it was read from (defaults to ``url``).
        source: outlet name; defaults to the page's site name or host.
        fetched_at: when it was fetched.
        article_id: id to use; by default a stable hash of the canonical URL (or ``origin``).

    Returns:
        An :class:`Article`; ``url`` is the page's canonical URL when it declares one,
        ``fetched_url`` the ``url`` it was fetched from.

    Raises:
        ExtractionError: no article text or title could be found.
    """
    where = origin or url or "HTML page"
    if len(html) > MAX_PAGE_BYTES:
        raise ExtractionError(where, f"page is {len(html):,} bytes, more than the {MAX_PAGE_BYTES:,}-byte cap")
    if isinstance(html, bytes):
        reason = binary_reason(html[:SNIFF_BYTES])
        if reason:
            raise ExtractionError(where, f"not an HTML page: {reason}; refused, nothing from it was read")
    try:
        doc = _extract(html, url, favor_recall=False)
        text = _field(doc, "text") if doc is not None else ""
        if len(text.split()) < MIN_TEXT_WORDS:
            retry = _extract(html, url, favor_recall=True)
            if retry is not None and len(_field(retry, "text")) > len(text):
                doc, text = retry, _field(retry, "text")
    except (ValueError, TypeError, AttributeError, UnicodeError, RecursionError, LookupError) as exc:
        raise ExtractionError(where, f"page could not be parsed as HTML ({type(exc).__name__}: {str(exc)[:200]})") from exc
    if doc is None or not (text or _field(doc, "title")):
        raise ExtractionError(where, "no article text found on the page (empty, not HTML, or all boilerplate)")
    title = strip_site_name(clean_text(_field(doc, "title")), _field(doc, "sitename"), _field(doc, "hostname") or url)
    text = clean_text(text)
    canonical = _field(doc, "url") or url
    if canonical and not canonical.lower().startswith(("http://", "https://")):
        canonical = url
    language = _field(doc, "language").split("-", 1)[0].lower() or detect_language(f"{title}\n{text}")
    published, _ = checked_date(_field(doc, "date"))
    article = Article(
        id=article_id or stable_id("page", canonical or where),
        title=title,
        text=text,
        url=canonical or url,
        fetched_url=url,  # the address it was fetched or archived under (a WARC record's target URI)
        source=clean_text(_field(doc, "sitename")) or source or _field(doc, "hostname"),
        published=published,
        language=language,
        fetched_at=fetched_at,
        origin=origin or url,
        author=clean_text(_field(doc, "author")),
    )
    try:
        return prepare(article).article
    except ItemRefused as exc:
        raise ExtractionError(where, exc.reason) from exc


def read_html_bytes(path: Path) -> bytes:
    """Bytes of a local page, gunzipped for ``.gz`` (capped at :data:`MAX_PAGE_BYTES`).

    Raises:
        IngestError: unreadable, corrupt gzip, or over the cap.
    """
    if path.suffix.lower() != ".gz":
        return read_capped(path, MAX_PAGE_BYTES, what="page")
    try:
        with open_regular(path) as raw, gzip.open(raw, "rb") as handle:
            data = handle.read(MAX_PAGE_BYTES + 1)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise IngestError(str(path), f"cannot read file ({getattr(exc, 'strerror', None) or exc})") from exc
    if len(data) > MAX_PAGE_BYTES:
        raise IngestError(str(path), f"page is larger than {MAX_PAGE_BYTES:,} bytes; not read")
    return data


def read_html_file(path: Path, report: ReadReport) -> Iterator[Article]:
    """Reader for local ``.html``, ``.htm`` and ``.html.gz`` pages: one article per file."""
    try:
        article = extract_article(read_html_bytes(path), origin=str(path),
                                  article_id=stable_id("file", path_identity(path)))
    except InputError as exc:
        report.error(exc.where, exc.reason)
        return
    yield article


def is_teaser(article: Article, *, max_words: int = TEASER_MAX_WORDS) -> bool:
    """Whether a feed entry carries only a teaser (fewer than ``max_words`` words of text) and
    has a page URL that could give the full article."""
    return article.url.lower().startswith(("http://", "https://")) and len(article.text.split()) < max_words


def complete_from_page(article: Article, page: Article) -> Article:
    """The feed entry ``article`` with the page's text (and any metadata the entry lacks).

    The entry keeps its id, source and origin (so re-reading the feed finds the same item);
    the page's canonical URL replaces the entry link.
    """
    if len(page.text) <= len(article.text):
        return article
    return replace(
        article,
        text=page.text,
        title=article.title or page.title,
        url=page.url or article.url,
        published=article.published or page.published,
        author=article.author or page.author,
        language=article.language or page.language,
        fetched_at=page.fetched_at or article.fetched_at,
        content_hash="",
    )


def fetch_page(url: str, fetcher: Any) -> Article:
    """Fetch ``url`` (robots.txt respected) and extract its article.

    Args:
        url: page URL.
        fetcher: a :class:`storyline.ingest.fetch.Fetcher`.

    Raises:
        IngestError: fetch refused or failed; ExtractionError: nothing extractable.
    """
    from .fetch import ACCEPT_PAGE

    result = fetcher.fetch(url, check_robots=True, accept=ACCEPT_PAGE)
    kind = result.content_type
    if kind and "html" not in kind and "xml" not in kind:
        raise ExtractionError(result.url, f"page is {kind}, not HTML; not extracted")
    return extract_article(result.content, url=result.url, origin=result.url, fetched_at=result.fetched_at)


def complete_teaser(article: Article, fetcher: Any, *, max_words: int = TEASER_MAX_WORDS) -> Article:
    """:func:`complete_from_page` after :func:`fetch_page` when :func:`is_teaser`; the entry
    unchanged when it is not a teaser.

    Raises:
        IngestError: the page could not be fetched or extracted (the caller keeps the teaser).
    """
    if not is_teaser(article, max_words=max_words):
        return article
    return complete_from_page(article, fetch_page(article.url, fetcher))


__all__ = [
    "TEASER_MAX_WORDS",
    "complete_from_page",
    "complete_teaser",
    "extract_article",
    "fetch_page",
    "html_to_text",
    "is_teaser",
    "read_html_bytes",
    "read_html_file",
]
