"""The one title trimmer: outlet names and rubrics off a headline.

One rule set, in two modes that stay explicit (``site``), because they answer different
questions and the tests and models rely on each:

- **The site is known** (``site=(sitename, host)``: the HTML extractor knows which site a page
  came from). A leading or trailing part, cut off by a separator (``|``, a dash, ``·``, ``:``),
  that names the site goes, repeatedly; anything else stays, so a real subtitle after a dash
  survives. Whitespace is left as it is.
- **The site is unknown** (``site=None``: a story's member titles, from any reader). The outlet is
  guessed from the shape: a trailing ``- Outlet`` (one to three capitalized words, or a domain) or
  ``| anything``, and a leading rubric (``EXCLUSIVE:``, ``WATCH |``) go, never leaving fewer than
  four words; whitespace is normalized. The learned headliner was trained on titles trimmed so.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_SEPARATORS = re.compile(r"\s+[|\-–—·:]{1,2}\s+")
_OUTLET_SUFFIX = re.compile(
    r"\s+(?:\|\s+[^|]{2,40}|[-–—]\s+(?:[A-Z][\w.&']*\s?){1,3}|[-–—]\s+\S+\.(?:com|net|org|co\.uk))$"
)
_RUBRIC_PREFIX = re.compile(r"^(?:[A-Z]{3,}(?: [A-Z]{3,})?|Breaking|Watch|Exclusive|Opinion|Analysis|Live)\s*[:|]\s+")
_MIN_WORDS = 4


def trim_title(title: str, *, site: tuple[str, str] | None = None) -> str:
    """``title`` without the outlet's name and rubric.

    Args:
        title: a headline.
        site: ``(sitename, host)`` when the publishing site is known (``host`` a host name or a
            URL); only parts naming it are removed. None: the outlet is guessed from the title's
            shape (see the module docstring).

    Returns:
        The trimmed title (unchanged when nothing matches).
    """
    if site is not None:
        return _strip_site(title, *site)
    title = " ".join(title.split())
    m = _OUTLET_SUFFIX.search(title)
    if m and len(title[: m.start()].split()) >= _MIN_WORDS:
        title = title[: m.start()].rstrip()
    m = _RUBRIC_PREFIX.match(title)
    if m and len(title[m.end():].split()) >= _MIN_WORDS:
        title = title[m.end():]
    return title


def _alnum(value: str) -> str:
    return re.sub(r"\W+", "", value.casefold())


def _strip_site(title: str, sitename: str = "", host: str = "") -> str:
    host = (urlsplit(host).hostname or "") if "//" in host else host
    names = {_alnum(sitename)} | {_alnum(label) for label in host.split(".") if len(label) > 3}
    names -= {"", "www", "news", "html"}

    def is_site(part: str) -> bool:
        key = _alnum(part)
        return bool(key) and any(key == n or (len(key) >= 4 and (key in n or n in key)) for n in names)

    while names:
        separators = list(_SEPARATORS.finditer(title))
        if not separators:
            break
        last, first = separators[-1], separators[0]
        if is_site(title[last.end():]):
            title = title[: last.start()].strip()
        elif is_site(title[: first.start()]):
            title = title[first.end():].strip()
        else:
            break
    return title


__all__ = ["trim_title"]
