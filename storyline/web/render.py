"""HTML rendering: the Jinja2 environment (autoescape always on), filters, the timeline chart.

Renderers only format what views computed. Article text reaches the page only through
autoescaped expressions; the one filter returning markup (:func:`snippet`) escapes first and
then adds ``<mark>`` around the search hits.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from datetime import datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from ..ingest.dates import parse_date, utc_or_none
from ..store.queries import SNIPPET_END, SNIPPET_START

TEMPLATES_DIR = str(resources.files("storyline.web") / "templates")
STATIC_DIR = str(resources.files("storyline.web") / "static")

_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 640, 140, 8, 8, 10, 28
_STEPS_H = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)
_MAX_BARS = 60


def _dt(value: str | datetime | None) -> datetime | None:
    """A stored date as an aware UTC datetime; None when absent or not representable in UTC
    (a value stored before the ingest boundary existed, e.g. ``9999-12-31T23:59:59-14:00``)."""
    if isinstance(value, datetime):
        return utc_or_none(value)
    return _stored_dt(value) if value else None


@lru_cache(maxsize=8192)
def _stored_dt(value: str) -> datetime | None:
    """:func:`_dt` of a stored string, parsed once: a page shows each date twice (its text and
    its ``datetime`` attribute), and the same stories' dates on every page between two writes."""
    dt = parse_date(value)
    return utc_or_none(dt) if dt is not None else None


def _utc_format(value: str | datetime | None, layout: str) -> str:
    dt = _dt(value)
    if dt is None:
        return "undated"
    return layout.format(dt=dt, day=dt.day)


def when(value: str | datetime | None) -> str:
    """A readable UTC date and time: ``Tue 10 Mar 2026, 07:15 UTC``."""
    return _utc_format(value, "{dt:%a} {day} {dt:%b %Y, %H:%M} UTC")


def short_when(value: str | datetime | None) -> str:
    """A compact date: ``10 Mar, 07:15``."""
    return _utc_format(value, "{day} {dt:%b, %H:%M}")


def day(value: str | datetime | None) -> str:
    """A date without a time: ``Wed 11 Mar 2026``."""
    return _utc_format(value, "{dt:%a} {day} {dt:%b %Y}")


def iso(value: str | datetime | None) -> str:
    dt = _dt(value)
    return dt.isoformat() if dt else ""


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"  # 13,267 articles


def snippet(text: str | None) -> Markup:
    """Escape a search snippet, then turn its hit marks into ``<mark>``."""
    safe = str(escape(text or ""))
    return Markup(safe.replace(SNIPPET_START, "<mark>").replace(SNIPPET_END, "</mark>"))


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``params`` updated with ``changes``, dropping empty values."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "") and not (k == "offset" and not v)}
    return ("?" + urlencode(kept)) if kept else "?"


def _bucket_hours(span_h: float) -> int:
    for step in _STEPS_H:
        if span_h / step <= 24:
            return step
    return _STEPS_H[-1]


def timeline_chart(items: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Geometry of the coverage chart: stacked bars (reports, reprints) per time bucket."""
    times = [(t, i["kind"]) for i in items if (t := _dt(i.get("time"))) is not None]
    if not times:
        return None
    start = min(t for t, _ in times).replace(minute=0, second=0, microsecond=0)
    end = max(t for t, _ in times)
    span_h = max(1.0, (end - start).total_seconds() / 3600)
    step = _bucket_hours(span_h)
    while span_h / step > _MAX_BARS:  # coverage spread over years (or a stray date): wider bars, never 100k of them
        step *= 2
    n = max(1, math.ceil(span_h / step + 1e-9))
    counts = [[0, 0] for _ in range(n)]
    for t, kind in times:
        idx = min(n - 1, int((t - start).total_seconds() // (step * 3600)))
        counts[idx][kind != "original"] += 1
    top = max(sum(c) for c in counts)
    inner_w, inner_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B
    bw = inner_w / n
    bars = []
    for i, (orig, rep) in enumerate(counts):
        x0 = _PAD_L + i * bw
        t0 = _plus_hours(start, i * step)
        h_o, h_r = inner_h * orig / top, inner_h * rep / top
        base = _PAD_T + inner_h
        bars.append({"x": round(x0 + 1, 1), "w": round(max(1.0, bw - 2), 1), "orig": orig, "rep": rep,
                     "y_o": round(base - h_o, 1), "h_o": round(h_o, 1), "y_r": round(base - h_o - h_r, 1),
                     "h_r": round(h_r, 1), "label": f"{short_when(t0)}: {plural(orig, 'report')}, "
                                                     f"{plural(rep, 'reprint')}"})
    ticks = [{"x": round(_PAD_L + i * bw + (bw if i == n - 1 and n > 1 else 0), 1),
              "anchor": "end" if i == n - 1 and n > 1 else "start",
              "label": short_when(_plus_hours(start, i * step))}
             for i in sorted({0, n // 2, n - 1})]
    return {"width": _W, "height": _H, "bars": bars, "ticks": ticks, "base": _PAD_T + inner_h,
            "step_hours": step, "total": len(times), "start": when(start), "end": when(end)}


def _plus_hours(start: datetime, hours: float) -> datetime:
    try:
        return start + timedelta(hours=hours)
    except OverflowError:
        return start


def options(values: Sequence[str], selected: str | None = None, label: str = "{}") -> Markup:
    """The ``<option>`` elements of a filter menu, ``selected`` marked; ``label`` formats each
    value's text. A store of many outlets has hundreds of them, the same on every page between
    two writes: rendered once per (choices, selection), not once per request."""
    return _options(tuple(values), selected or "", label)


@lru_cache(maxsize=128)
def _options(values: tuple[str, ...], selected: str, label: str) -> Markup:
    return Markup("").join(Markup('<option value="{}"{}>{}</option>').format(
        v, Markup(" selected") if v == selected else "", label.format(v)) for v in values)


def _card_renderer(macro: Callable[..., Markup]) -> Callable[..., Markup]:
    """The templates' ``card`` global: ``macro`` (macros.html's ``card_html``) of a story card,
    rendered once per (card, lead) and then reused. The same stories' cards fill the front page,
    outlet pages, search results and related lists until a write changes them, and a card's HTML
    is a function of its fields alone (the macro reads nothing else), so every field is in the
    key: a changed headline, summary, count or time is a new card. About 1 KB a card, 4,096 kept."""

    @lru_cache(maxsize=4096)
    def render(fields: tuple[tuple[str, Any], ...], lead: bool) -> Markup:
        return macro(dict(fields), lead=lead)

    def card(story: dict[str, Any], lead: bool = False) -> Markup:
        try:
            return render(tuple(story.items()), bool(lead))
        except TypeError:  # a field that cannot be a key (a list): this card is rendered as it comes
            return macro(story, lead=bool(lead))

    return card


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(when=when, short_when=short_when, iso=iso, snippet=snippet, day=day)
    from .views import outlet_path

    env.globals.update(options=options, plural=plural, query_string=query_string, timeline_chart=timeline_chart,
                       outlet_path=outlet_path)
    env.globals["card"] = _card_renderer(env.get_template("macros.html").module.card_html)  # type: ignore[attr-defined]
    return env


__all__ = [
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "environment",
    "options",
    "iso",
    "plural",
    "short_when",
    "snippet",
    "timeline_chart",
    "when",
]
