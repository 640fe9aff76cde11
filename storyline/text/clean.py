"""Normalize whitespace, quotes and invisible characters without changing what was said."""
from __future__ import annotations

import html
import re
import unicodedata

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_HSPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TAG = re.compile(r"<[^>]{0,500}>")


def clean_text(text: str, *, strip_tags: bool = False) -> str:
    """Return ``text`` in NFC with entities decoded, invisible characters dropped and runs of
    spaces collapsed; paragraph breaks survive as single newlines."""
    if not text:
        return ""
    if strip_tags:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _HSPACE.sub(" ", text)
    if "\n" in text:  # linear: a regex like \s*\n\s* backtracks over long runs of other whitespace
        return "\n".join(line for part in text.split("\n") if (line := part.strip()))
    return text.strip()
