"""Word-level view of a story: which words (and word pairs) an editor's summary is likely to use.

A summary is judged by the words it shares with what a reader needs; sentences are only the
units we may quote. So the learned summarizer predicts, for every word of the story and every
``k``, the probability that a good summary uses the word at least ``k`` times (features: how
many items use it, whether titles do, how early it appears, capitalization, stopword, ...) and,
for every adjacent word pair, the probability that the pair appears. A set of sentences is then
worth the expected number of words and pairs it gets right, counted at most as often as
predicted — repeats earn nothing, which is the redundancy control.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..text import STOPWORDS
from .features import Sentence, StoryView

_TOKEN = re.compile(r"[a-z0-9]+")
_CASED_TOKEN = re.compile(r"[A-Za-z0-9]+")
MAX_REPEAT = 5

_WORD_BASE = (
    "stopword", "item_share", "items", "title_share", "text_count", "first_position",
    "lead_count", "capitalized", "numeric", "length", "sentence_share", "members",
    "lexicon_summary", "lexicon_headline", "lexicon_stories",
)
WORD_FEATURES = ("k",) + _WORD_BASE
TITLE_WORD_FEATURES = _WORD_BASE + ("title_position", "title_capitalized")
_LEXICON_SUMMARY = _WORD_BASE.index("lexicon_summary")
PAIR_FEATURES = (
    "item_share", "items", "title_share", "count", "first_position", "lead_count",
    "stopwords", "min_word_share", "max_word_share", "capitalized", "members",
    "min_lexicon_summary", "max_lexicon_summary",
)


class Lexicon:
    """What training stories say about single words: for a word seen in a training story, the
    (smoothed) share of those stories whose editor's summary, and whose headline, used it, and
    log(1 + number of such stories). Unseen words get the overall rates and 0."""

    def __init__(self, entries: Mapping[str, Sequence[float]] | None = None,
                 default: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self.entries = {w: tuple(float(x) for x in v) for w, v in (entries or {}).items()}
        self.default = tuple(float(x) for x in default)

    def __call__(self, word: str) -> tuple[float, ...]:
        return self.entries.get(word, self.default)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "Lexicon":
        return cls(dict(zip(spec["words"], spec["values"])), spec["default"])


@lru_cache(maxsize=1 << 16)
def stem(token: str) -> str:
    """Light suffix stripping, enough to match ``talks``/``talked``/``talking`` within a story."""
    if len(token) <= 3 or token.isdigit():
        return token
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
            return token[: -len(suffix)] + keep
    return token


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens, lightly stemmed (the way ROUGE tokenizes, roughly)."""
    return [stem(t) for t in _TOKEN.findall(text.lower())]


@dataclass(slots=True)
class WordTable:
    """The story's word and pair statistics and the rows the word models score."""

    words: list[tuple[str, int]]  # (word, k)
    word_rows: list[list[float]]
    pairs: list[tuple[str, str]]
    pair_rows: np.ndarray  # one row per pair, columns as in PAIR_FEATURES
    sentence_tokens: list[list[str]]
    title_words: list[str]  # every word of the member titles
    title_rows: list[list[float]]


def _sentence_tokens(text: str, caps: Counter[str], seen: Counter[str]) -> list[str]:
    """:func:`tokens` of ``text``, counting in ``caps`` the non-initial capitalized uses."""
    out = []
    for n, m in enumerate(_CASED_TOKEN.finditer(text)):
        raw = m.group()
        t = stem(raw.lower())
        out.append(t)
        seen[t] += 1
        if n and raw[0].isupper():
            caps[t] += 1
    return out


def word_table(view: StoryView, sents: Sequence[Sentence], lexicon: Lexicon | None = None) -> WordTable:
    """Word rows (one per word and repeat ``k``), pair rows and headline-word rows for ``sents``
    of ``view``, with what ``lexicon`` knows of each word."""
    lexicon = lexicon or Lexicon()
    members = view.members
    n_items = max(len(members), 1)
    caps_count: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    sentence_tokens = [_sentence_tokens(s.text, caps_count, seen) for s in sents]
    item_words: dict[str, set[int]] = defaultdict(set)
    title_words: Counter[str] = Counter()
    item_pairs: dict[tuple[str, str], set[int]] = defaultdict(set)
    title_pairs: Counter[tuple[str, str]] = Counter()
    title_position: dict[str, float] = {}
    title_caps: Counter[str] = Counter()
    for i in members:
        title_caps_here: Counter[str] = Counter()
        title = _sentence_tokens(view.articles[i].title, title_caps_here, Counter())
        for n, t in enumerate(title):
            if t not in title_position or n / len(title) < title_position[t]:
                title_position[t] = n / len(title)
        title_caps.update(title_caps_here.keys())
        for t in set(title):
            title_words[t] += 1
            item_words[t].add(i)
        for p in set(zip(title, title[1:])):
            title_pairs[p] += 1
            item_pairs[p].add(i)
    count: dict[str, int] = {}
    first: dict[str, int] = {}
    lead: dict[str, int] = {}
    in_sentences: dict[str, int] = {}
    max_in_sentence: dict[str, int] = {}
    pair_count: dict[tuple[str, str], int] = {}
    pair_first: dict[tuple[str, str], int] = {}
    pair_lead: dict[tuple[str, str], int] = {}
    for s, toks in zip(sents, sentence_tokens):
        here: dict[str, int] = {}
        for t in toks:
            here[t] = here.get(t, 0) + 1
        pos, is_lead, art = s.position, int(s.position == 0), s.article
        for t, c in here.items():
            item_words[t].add(art)
            if t in count:
                count[t] += c
                in_sentences[t] += 1
                if c > max_in_sentence[t]:
                    max_in_sentence[t] = c
                if pos < first[t]:
                    first[t] = pos
                lead[t] += is_lead
            else:
                count[t], in_sentences[t], max_in_sentence[t], first[t], lead[t] = c, 1, c, pos, is_lead
        for p in set(zip(toks, toks[1:])):
            item_pairs[p].add(art)
            if p in pair_count:
                pair_count[p] += 1
                if pos < pair_first[p]:
                    pair_first[p] = pos
                pair_lead[p] += is_lead
            else:
                pair_count[p], pair_first[p], pair_lead[p] = 1, pos, is_lead
    caps = {t: caps_count[t] / seen[t] for t in seen}
    n_sents = max(len(sents), 1)
    words, word_rows = [], []
    base: dict[str, list[float]] = {}

    def word_row(t: str) -> list[float]:
        # text statistics (count, first position, leads, capitalization, sentences) are 0, with
        # position 11, for a word only the titles use
        in_text = t in count
        return [
            float(t in STOPWORDS or len(t) < 2), len(item_words[t]) / n_items, float(len(item_words[t])),
            title_words.get(t, 0) / n_items, float(count[t]) if in_text else 0.0,
            float(min(first[t], 10)) if in_text else 11.0, float(lead[t]) if in_text else 0.0,
            caps.get(t, 0.0) if in_text else 0.0, float(t.isdigit()), float(len(t)),
            in_sentences[t] / n_sents if in_text else 0.0, float(n_items), *lexicon(t),
        ]

    for t in sorted(count):
        row = base[t] = word_row(t)
        for k in range(1, min(max_in_sentence[t] + 1, MAX_REPEAT, count[t]) + 1):
            words.append((t, k))
            word_rows.append([float(k)] + row)
    title_vocab, title_rows = [], []
    for t in sorted(title_words):
        row = base.get(t) or word_row(t)
        title_vocab.append(t)
        title_rows.append(row + [title_position.get(t, 1.5), title_caps[t] / (title_words[t] or 1)])
    pairs = sorted(pair_count)
    return WordTable(words, word_rows, pairs, _pair_rows(pairs, base, n_items, item_pairs, title_pairs,
                                                         pair_count, pair_first, pair_lead),
                     sentence_tokens, title_vocab, title_rows)


def _pair_rows(pairs: list[tuple[str, str]], base: Mapping[str, list[float]], n_items: int,
               item_pairs: Mapping[tuple[str, str], set[int]], title_pairs: Mapping[tuple[str, str], int],
               pair_count: Mapping[tuple[str, str], int], pair_first: Mapping[tuple[str, str], int],
               pair_lead: Mapping[tuple[str, str], int]) -> np.ndarray:
    """Rows of :data:`PAIR_FEATURES`; the columns drawn from the two words' rows are computed
    for all pairs at once."""
    if not pairs:
        return np.zeros((0, len(PAIR_FEATURES)))
    own = np.array([
        (len(item_pairs[p]) / n_items, len(item_pairs[p]), title_pairs.get(p, 0) / n_items,
         pair_count[p], min(pair_first[p], 10), pair_lead[p]) for p in pairs
    ], dtype=float)
    index = {w: n for n, w in enumerate(base)}
    table = np.array(list(base.values()), dtype=float)[:, [0, 1, 7, _LEXICON_SUMMARY]]
    a = table[[index[p[0]] for p in pairs]]
    b = table[[index[p[1]] for p in pairs]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.column_stack([
        own, a[:, 0] + b[:, 0], low[:, 1], high[:, 1], low[:, 2], np.full(len(pairs), float(n_items)),
        low[:, 3], high[:, 3],
    ])


class SubsetValue:
    """Expected ROUGE-style matches of a set of sentences, built from predicted probabilities.

    ``word_p[(w, k)]`` is the chance the reference uses ``w`` at least ``k`` times; a set that
    uses ``w`` ``c`` times earns ``sum(word_p[(w, 1..c)])``. Pairs count the same way, once.
    :meth:`add`/:meth:`remove` keep the running word and pair counts of the set being built.
    """

    def __init__(self, table: WordTable, word_p: Iterable[float], pair_p: Iterable[float], pair_weight: float,
                 title_p: Iterable[float] = ()) -> None:
        self.word_p = {wk: float(p) for wk, p in zip(table.words, word_p)}
        self.pair_p = {pair: float(p) * pair_weight for pair, p in zip(table.pairs, pair_p)}
        self.sentence_words = [list(Counter(toks).items()) for toks in table.sentence_tokens]
        self.sentence_pairs = [list(set(zip(toks, toks[1:]))) for toks in table.sentence_tokens]
        self.used_words: dict[str, int] = {}
        self.used_pairs: dict[tuple[str, str], int] = {}
        # word -> chance an editor's headline uses it (headline-word model; feeds the headline choice)
        self.title_chance = {w: float(p) for w, p in zip(table.title_words, title_p)}

    def word_chance(self) -> dict[str, float]:
        """Each word's predicted chance of being used at least once."""
        return {w: p for (w, k), p in self.word_p.items() if k == 1}

    def alone(self, k: int) -> float:
        """Value of sentence ``k`` on its own."""
        wp, pp = self.word_p, self.pair_p
        gain = sum(wp.get((w, j), 0.0) for w, c in self.sentence_words[k] for j in range(1, min(c, MAX_REPEAT) + 1))
        return gain + sum(pp.get(p, 0.0) for p in self.sentence_pairs[k])

    def gain(self, k: int) -> float:
        """Value sentence ``k`` adds to the set built so far."""
        gain = 0.0
        wp, used = self.word_p, self.used_words
        for w, c in self.sentence_words[k]:
            have = used.get(w, 0)
            if have < MAX_REPEAT:
                for j in range(have + 1, min(have + c, MAX_REPEAT) + 1):
                    gain += wp.get((w, j), 0.0)
        pp, used_pairs = self.pair_p, self.used_pairs
        for p in self.sentence_pairs[k]:
            if p not in used_pairs:
                gain += pp.get(p, 0.0)
        return gain

    def add(self, k: int) -> None:
        """Put sentence ``k`` into the set."""
        used, used_pairs = self.used_words, self.used_pairs
        for w, c in self.sentence_words[k]:
            used[w] = used.get(w, 0) + c
        for p in self.sentence_pairs[k]:
            used_pairs[p] = used_pairs.get(p, 0) + 1

    def remove(self, k: int) -> None:
        """Take sentence ``k`` out of the set."""
        used, used_pairs = self.used_words, self.used_pairs
        for w, c in self.sentence_words[k]:
            if used[w] == c:
                del used[w]
            else:
                used[w] -= c
        for p in self.sentence_pairs[k]:
            if used_pairs[p] == 1:
                del used_pairs[p]
            else:
                used_pairs[p] -= 1


def expected_f1(matches: float, words: int, reference_words: float) -> float:
    """ROUGE-style F1 from expected matches, a summary length and an expected reference length."""
    return 2.0 * matches / (words + reference_words) if words else 0.0


