"""Sentence splitting by rule.

Written by hand because the library splitters either need data downloads (NLTK's punkt) or cost
milliseconds per paragraph (pysbd), and summarizing hundreds of stories a second needs microseconds.
The rules: a sentence ends at ``. ! ?`` (optionally followed by closing quotes or brackets) before
whitespace and an opening capital, digit or quote, unless the word before the period is a known
abbreviation (titles such as ``Sens.``, months, US states' short forms), an initial (``J.``), or
a dotted acronym or run of initials (``U.S.``, ``H.W.``, ``H.R.``) followed by a name or number.
"""
from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep rev hon pres
    vol fig jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp bros
    vs etc approx dept est univ ave blvd rd ft
    sens reps govs gens maj messrs supt dep calif ala ariz colo conn fla mich minn okla tenn wis""".split()
)
_NUMBER_SIGNS = frozenset({"no", "nos"})  # "No. 5", but "voted no. Then"
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")  # dotted acronyms and runs of initials: "u.s", "a.m", "h.w"
_BOUNDARY = re.compile(r"""([.!?…]+["'”’)\]]*)(\s+)(?=["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])""")
# A wire dateline opening an article: "WASHINGTON —", "TUSCALOOSA, Ala. (AP) —", "Washington (CNN) -".
# It says where the report was filed, not what happened, so no summary sentence starts with it.
_DATELINE = re.compile(
    r"""^(?:[A-Z][A-Z.'’-]+(?:\s[A-Z][A-Z.'’-]+){0,3}(?:,\s[A-Z][A-Za-z.]+(?:\s[A-Z][A-Za-z.]+)?)?(?:\s\([A-Za-z][\w .&-]{0,30}\))?"""
    r"""|[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2}(?:,\s[A-Z][A-Za-z.]+)?\s\([A-Z][\w .&-]{0,30}\))\s*[—–-]{1,2}\s+(?=["“‘]?[A-Z0-9])""")
_MIN_CHARS = 2


def _is_abbreviation(before: str, next_char: str) -> bool:
    """Whether the period after ``before`` (a paragraph's text up to it: no newline) ends an
    abbreviation rather than a sentence, from the word right before it."""
    if not before or before[-1].isspace():  # no word touches the period
        return False
    # that word: the last run of non-space characters, found from the end (a regex search for
    # "(\S+)$" tried every position of the text before, 12 us a period)
    word = before.rsplit(None, 1)[-1].lstrip("\"'“‘([").rstrip(".").casefold()
    if word in _ABBREVIATIONS or (word in _NUMBER_SIGNS and next_char.isdigit()):
        return True
    if len(word) == 1 and word.isalpha():  # an initial: "John F. Kennedy"
        return True
    return _DOTTED.fullmatch(word) is not None  # "George H.W. Bush", "H.R. 1"


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; newlines always end a sentence, and a wire dateline opening
    the text ("WASHINGTON (AP) —") is left out."""
    out: list[str] = []
    for para in text.split("\n"):
        para = para.strip()
        if not para:
            continue
        if not out:
            para = _DATELINE.sub("", para, count=1)
        start = 0
        for m in _BOUNDARY.finditer(para):
            end = m.end(1)
            if m.group(1) == "." and _is_abbreviation(para[start:m.start(1)], para[m.end(2):m.end(2) + 1]):
                continue
            piece = para[start:end].strip()
            if len(piece) >= _MIN_CHARS:
                out.append(piece)
            start = m.end(2)
        tail = para[start:].strip()
        if len(tail) >= _MIN_CHARS:
            out.append(tail)
    return out
