"""The engine's one set of word tokens, stopwords and stemmers (dedup, clustering, summaries).

Two choices are explicit parameters rather than separate copies, because the models were trained
with each and changing either changes their output:

- ``rouge``: how words are cut. By default a word is a run of letters or digits of any script,
  with inner apostrophes, dots and hyphens kept (``U.S.`` -> ``us``, ``rock-and-roll`` one token):
  what dedup, clustering and content-word bags compare. With ``rouge=True`` a word is a run of
  ASCII letters and digits, split at everything else, as ROUGE scores summaries: the summary word
  models predict ROUGE matches with an editor's summary, so they count words ROUGE's way.
- ``rouge`` again, for stems. By default a light stemmer drops possessive and plural endings only
  (``talks`` -> ``talk``), to compare the items of one story; with ``rouge=True`` it also drops
  ``-ing``/``-ed``/``-es``, closer to the Porter stemming ROUGE applies.
"""
from __future__ import annotations

import itertools
import re
import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)
_ROUGE_WORD = re.compile(r"[a-z0-9]+")  # on lower-cased text
ROUGE_CASED_WORD = re.compile(r"[A-Za-z0-9]+")  # the same tokens, case kept (to see capitals)
ROUGE_CAPITALIZED = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9]*")  # the ROUGE_CASED_WORD tokens that start upper-case

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up upon very was we were what when
    where which while who whom why will with would you your yours yourself yourselves said says
    say told according would could may might must shall one two new also like get got it's
    he's she's they're we're i'm don't didn't won't can't mr mrs ms""".split()
)


def tokenize(text: str, *, rouge: bool = False, stemmed: bool = False) -> list[str]:
    """Lower-cased word tokens of ``text`` in reading order.

    Args:
        text: any text.
        rouge: cut words as ROUGE does (ASCII letters and digits) instead of whole words of any
            script (dots inside acronyms dropped: ``U.S.`` -> ``us``).
        stemmed: each token through :func:`stem` (with the same ``rouge``).
    """
    if rouge:
        found = _ROUGE_WORD.findall(text.lower())
        return list(map(_rouge_stem, found)) if stemmed else found
    words = folded(_WORD.findall(text), ".")
    return list(map(_light_stem, words)) if stemmed else words


def folded(words: list[str], drop: str) -> list[str]:
    """Each word with the character ``drop`` removed and its case folded, in one pass over the
    words joined: no word holds a space and no character folds to one (checked over Unicode), and
    ``drop`` is never a whole word."""
    return " ".join(words).replace(drop, "").casefold().split(" ") if words else []


_MEMO = threading.local()  # .words: text -> its tokens, inside shared_tokens()


@contextmanager
def shared_tokens() -> Iterator[None]:
    """Within it, this thread tokenizes a text once for :func:`tokens_once` and :func:`content_words`
    (the text stage's deduplicator and clusterer read the same titles and texts)."""
    outer = getattr(_MEMO, "words", None)
    _MEMO.words = {} if outer is None else outer
    try:
        yield
    finally:
        _MEMO.words = outer


def tokens_once(text: str) -> list[str]:
    """:func:`tokenize` of ``text``, the same list for the same text inside :func:`shared_tokens`
    (so not to be changed)."""
    memo = getattr(_MEMO, "words", None)
    if memo is None:
        return tokenize(text)
    words = memo.get(text)
    if words is None:
        words = memo[text] = tokenize(text)
    return words


def content_words(text: str, *, stemmed: bool = False) -> list[str]:
    """Tokens (:func:`tokenize`) that are not stopwords, numbers kept; with ``stemmed`` each
    through the light :func:`stem` (memoized per raw token: a story repeats its words)."""
    if stemmed:
        raw = _WORD.findall(text)
        words = list(map(_CONTENT_STEM.get, raw))
        if None in words:
            words = [_content_stem(r) if w is None else w for r, w in zip(raw, words)]
        return list(filter(None, words))
    words = list(itertools.filterfalse(STOPWORDS.__contains__, tokens_once(text)))
    if words and min(map(len, words)) == 1:
        return [w for w in words if len(w) > 1 or w.isdigit()]
    return words


def stem(word: str, *, rouge: bool = False) -> str:
    """A light stemmer: possessive and plural endings off; with ``rouge`` also ``-ing``, ``-ed``,
    ``-es`` (a token of three letters or fewer, or of digits, stays)."""
    return _rouge_stem(word) if rouge else _light_stem(word)


@lru_cache(maxsize=1 << 16)
def _light_stem(word: str) -> str:
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 16)
def _rouge_stem(token: str) -> str:
    if len(token) <= 3 or token.isdigit():
        return token
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
            return token[: -len(suffix)] + keep
    return token


_CONTENT_STEM: dict[str, str] = {}  # raw token -> its stemmed content word, or "" for a stopword; a cache


def _content_stem(raw: str) -> str:
    """The light stem of the content word a raw token makes (as :func:`content_words`), "" if none."""
    w = raw.replace(".", "").casefold()
    word = _light_stem(w) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()) else ""
    if len(_CONTENT_STEM) > 1 << 17:
        _CONTENT_STEM.clear()
    _CONTENT_STEM[raw] = word
    return word


__all__ = ["ROUGE_CAPITALIZED", "ROUGE_CASED_WORD", "STOPWORDS", "content_words", "folded", "shared_tokens", "stem", "tokenize",
           "tokens_once"]
