"""Normalize whitespace, quotes and invisible characters without changing what was said."""
from __future__ import annotations

import html
import re
import unicodedata

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# a run of horizontal space that is not one plain space (one plain space stays as it is)
_HSPACE = re.compile(r"[\t\u00a0\u2000-\u200a\u202f\u205f\u3000][ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]*"
                     r"| [ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TAG = re.compile(r"<[^>]{0,500}>")
# what clean_text could change: an entity, an invisible character, any white space but a plain
# space and a line break (every character str.isspace() and re's \s know)
_UNCLEAN = re.compile("[&\t\x0b-\x0d\x1c-\x1f\x85\xa0\xad\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060"
                      "\u3000\ufeff]")


def is_clean(text: str) -> bool:
    """Whether :func:`clean_text` returns ``text`` as it is: no entity, invisible character or
    white space but single plain spaces and line breaks inside stripped, non-empty lines, in NFC."""
    return (not _UNCLEAN.search(text) and text[:1] not in " \n" and text[-1:] not in " \n" and "  " not in text
            and " \n" not in text and "\n " not in text and "\n\n" not in text
            and unicodedata.is_normalized("NFC", text))


def clean_text(text: str, *, strip_tags: bool = False) -> str:
    """Return ``text`` in NFC with entities decoded, invisible characters dropped and runs of
    spaces collapsed; paragraph breaks survive as single newlines."""
    if not text:
        return ""
    if is_clean(text) and not (strip_tags and "<" in text):
        return text
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
