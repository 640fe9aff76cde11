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
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..text import STOPWORDS
from .features import Sentence, StoryView

_TOKEN = re.compile(r"[a-z0-9]+")
_CASED_TOKEN = re.compile(r"[A-Za-z0-9]+")
_CAPITALIZED = re.compile(r"(?<![A-Za-z0-9])[A-Z][A-Za-z0-9]*")  # the _CASED_TOKEN tokens that start upper-case
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
        # the same numbers as a matrix (the default last), for looking up a story's words at once
        self._index = {w: n for n, w in enumerate(self.entries)}
        self._matrix = np.array([*self.entries.values(), self.default], dtype=float).reshape(
            len(self.entries) + 1, len(self.default))

    def __call__(self, word: str) -> tuple[float, ...]:
        return self.entries.get(word, self.default)

    def rows(self, words: Sequence[str]) -> np.ndarray:
        """What the lexicon knows of each of ``words``, one row each (the default for unseen words)."""
        rows = np.fromiter(map(self._index.get, words, repeat(-1)), dtype=np.intp, count=len(words))
        return self._matrix[rows]

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
    return list(map(stem, _TOKEN.findall(text.lower())))


@dataclass(slots=True)
class WordTable:
    """The story's word and pair statistics and the rows the word models score."""

    text_words: list[str]  # the words of the sentences, sorted
    word_index: np.ndarray  # per word row: its word's index in text_words
    word_k: np.ndarray  # per word row: the repeat k
    word_rows: np.ndarray  # one row per (word, k), columns as in WORD_FEATURES
    pairs: list[tuple[str, str]]
    pair_rows: np.ndarray  # one row per pair, columns as in PAIR_FEATURES
    sentence_tokens: list[list[str]]
    title_words: list[str]  # every word of the member titles
    title_rows: np.ndarray  # one row per title word, columns as in TITLE_WORD_FEATURES
    sentence_counts: list[list[tuple[str, int]]]  # per sentence: (word, uses), in order of first use
    sentence_pairs: list[set[tuple[str, str]]]  # per sentence: its adjacent word pairs
    word_sentences: Mapping[str, int] = field(default_factory=dict)  # sentences using each word
    pair_sentences: Mapping[tuple[str, str], int] = field(default_factory=dict)  # sentences using each pair

    @property
    def words(self) -> list[tuple[str, int]]:
        """(word, k) of each word row."""
        text = self.text_words
        return [(text[n], k) for n, k in zip(self.word_index.tolist(), self.word_k.tolist())]


_STEMMED: dict[str, str] = {}  # raw token -> stem(token.lower()); a cache, cleared when large


def _stems(raw: list[str]) -> list[str]:
    """``stem(token.lower())`` of each raw token (cached: a story repeats its words)."""
    out = list(map(_STEMMED.get, raw))
    if None in out:
        if len(_STEMMED) > 1 << 17:
            _STEMMED.clear()
        for n, r in enumerate(raw):
            if out[n] is None:
                out[n] = _STEMMED[r] = stem(r.lower())
    return out  # type: ignore[return-value]


@dataclass(slots=True)
class _Counts:
    """Per word (and per adjacent pair) counts over the member titles and sentences."""

    items: Counter[str] = field(default_factory=Counter)  # member items (title or text) using it
    titles: Counter[str] = field(default_factory=Counter)  # member titles using it
    text: Counter[str] = field(default_factory=Counter)  # uses in the sentences
    sentences: Counter[str] = field(default_factory=Counter)  # sentences using it
    leads: Counter[str] = field(default_factory=Counter)  # opening sentences using it
    first: dict[str, int] = field(default_factory=dict)  # earliest sentence position
    item_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    title_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    pair_sentences: Counter[tuple[str, str]] = field(default_factory=Counter)
    pair_leads: Counter[tuple[str, str]] = field(default_factory=Counter)
    pair_first: dict[tuple[str, str], int] = field(default_factory=dict)
    capitalized: Counter[str] = field(default_factory=Counter)  # non-initial capitalized uses in sentences
    max_in_sentence: dict[str, int] = field(default_factory=dict)  # only where above 1
    title_position: dict[str, float] = field(default_factory=dict)  # earliest relative position in a title
    title_capitalized: Counter[str] = field(default_factory=Counter)  # titles capitalizing it mid-title


def _count_titles(view: StoryView, counts: _Counts) -> dict[int, tuple[set[str], set[tuple[str, str]]]]:
    """Title statistics of the members; returns each member title's words and pairs."""
    out = {}
    position = counts.title_position
    for i in view.members:
        raw = _CASED_TOKEN.findall(view.articles[i].title)
        title = _stems(raw)
        for n, t in enumerate(title):
            if t not in position or n / len(title) < position[t]:
                position[t] = n / len(title)
        counts.title_capitalized.update({t for r, t in zip(raw[1:], title[1:]) if r[0].isupper()})
        out[i] = (set(title), set(zip(title, title[1:])))
    counts.titles.update(chain.from_iterable(words for words, _ in out.values()))
    counts.title_pairs.update(chain.from_iterable(pairs for _, pairs in out.values()))
    return out


def _count_sentences(sents: Sequence[Sentence], counts: _Counts) -> tuple[
        list[list[str]], list[set[str]], list[set[tuple[str, str]]], list[list[tuple[str, int]]]]:
    """Sentence statistics; returns each sentence's tokens, word set, pair set and word uses."""
    tokens_of, words_of, pairs_of, uses_of, capitalized = [], [], [], [], []
    most = counts.max_in_sentence
    for s in sents:
        raw = _CASED_TOKEN.findall(s.text)
        toks = _stems(raw)
        words = set(toks)
        opening = _CAPITALIZED.findall(s.text)  # capitalized tokens, the opening one left out
        capitalized.extend(opening[1:] if raw and raw[0][0].isupper() else opening)
        if len(words) < len(toks):
            uses = list(Counter(toks).items())
            for t, c in uses:
                if c > 1 and c > most.get(t, 1):
                    most[t] = c
        else:
            uses = [(t, 1) for t in toks]
        tokens_of.append(toks)
        words_of.append(words)
        pairs_of.append(set(zip(toks, toks[1:])))
        uses_of.append(uses)
    leads = [k for k, s in enumerate(sents) if s.position == 0]
    counts.text.update(chain.from_iterable(tokens_of))
    counts.capitalized.update(_stems(capitalized))
    counts.sentences.update(chain.from_iterable(words_of))
    counts.pair_sentences.update(chain.from_iterable(pairs_of))
    counts.leads.update(chain.from_iterable(words_of[k] for k in leads))
    counts.pair_leads.update(chain.from_iterable(pairs_of[k] for k in leads))
    # earliest positions: write the latest sentences first, so earlier ones overwrite them
    for k in sorted(range(len(sents)), key=lambda k: -sents[k].position):
        counts.first.update(dict.fromkeys(words_of[k], sents[k].position))
        counts.pair_first.update(dict.fromkeys(pairs_of[k], sents[k].position))
    return tokens_of, words_of, pairs_of, uses_of


def word_table(view: StoryView, sents: Sequence[Sentence], lexicon: Lexicon | None = None) -> WordTable:
    """Word rows (one per word and repeat ``k``), pair rows and headline-word rows for ``sents``
    of ``view``, with what ``lexicon`` knows of each word."""
    lexicon = lexicon or Lexicon()
    counts = _Counts()
    titles = _count_titles(view, counts)
    sentence_tokens, words_of, pairs_of, uses_of = _count_sentences(sents, counts)
    item_words: dict[int, set[str]] = {i: set(w) for i, (w, _) in titles.items()}
    item_pairs: dict[int, set[tuple[str, str]]] = {i: set(p) for i, (_, p) in titles.items()}
    for s, words, pairs in zip(sents, words_of, pairs_of):
        item_words.setdefault(s.article, set()).update(words)
        item_pairs.setdefault(s.article, set()).update(pairs)
    counts.items.update(chain.from_iterable(item_words.values()))
    counts.item_pairs.update(chain.from_iterable(item_pairs.values()))
    n_items = max(len(view.members), 1)
    vocab = sorted(counts.text.keys() | counts.titles.keys())
    base = _word_base(vocab, counts, n_items, max(len(sents), 1), lexicon)
    index = {t: n for n, t in enumerate(vocab)}
    text, most = counts.text, counts.max_in_sentence
    text_words = sorted(text)
    in_text = np.array([index[t] for t in text_words], dtype=np.intp)
    repeats = np.array([min(most.get(t, 1) + 1, MAX_REPEAT, text[t]) for t in text_words], dtype=np.intp)
    word_index = np.repeat(np.arange(len(text_words), dtype=np.intp), repeats)
    word_k = np.arange(len(word_index)) - np.repeat(np.cumsum(repeats) - repeats, repeats) + 1
    word_rows = np.column_stack([word_k.astype(float), base[in_text[word_index]]])
    title_vocab = sorted(counts.titles)
    title_rows = np.column_stack([
        base[[index[t] for t in title_vocab]].reshape(len(title_vocab), base.shape[1]),
        np.array([counts.title_position.get(t, 1.5) for t in title_vocab], dtype=float),
        np.array([counts.title_capitalized[t] / (counts.titles[t] or 1) for t in title_vocab], dtype=float),
    ]) if title_vocab else np.zeros((0, len(TITLE_WORD_FEATURES)))
    pairs = sorted(counts.pair_sentences)
    return WordTable(text_words, word_index, word_k, word_rows, pairs, _pair_rows(pairs, base, index, n_items, counts),
                     sentence_tokens, title_vocab, title_rows, uses_of, pairs_of, counts.sentences,
                     counts.pair_sentences)


def _column(values: Mapping[Any, int], keys: Sequence[Any], default: int = 0) -> np.ndarray:
    """``values.get(key, default)`` for each of ``keys``, as floats."""
    return np.fromiter(map(values.get, keys, repeat(default)), dtype=float, count=len(keys))


def _word_base(vocab: list[str], counts: _Counts, n_items: int, n_sents: int, lexicon: Lexicon) -> np.ndarray:
    """Rows of :data:`_WORD_BASE` for ``vocab``. Text statistics (count, first position, leads,
    capitalization, sentences) are 0, with position 11, for a word only the titles use."""
    if not vocab:
        return np.zeros((0, len(_WORD_BASE)))
    n = len(vocab)
    items = _column(counts.items, vocab)
    used = _column(counts.text, vocab)
    in_text = used > 0
    first = np.minimum(_column(counts.first, vocab, 11), 10.0)
    first[~in_text] = 11.0
    length = np.fromiter(map(len, vocab), dtype=float, count=n)
    stopword = np.fromiter(map(STOPWORDS.__contains__, vocab), dtype=bool, count=n) | (length < 2)
    return np.column_stack([
        stopword.astype(float),
        items / n_items,
        items,
        _column(counts.titles, vocab) / n_items,
        used,
        first,
        _column(counts.leads, vocab),
        np.divide(_column(counts.capitalized, vocab), used, out=np.zeros(n), where=in_text),
        np.fromiter(map(str.isdigit, vocab), dtype=float, count=n),
        length,
        _column(counts.sentences, vocab) / n_sents,
        np.full(n, float(n_items)),
        lexicon.rows(vocab),
    ])


def _pair_rows(pairs: list[tuple[str, str]], base: np.ndarray, index: Mapping[str, int], n_items: int,
               counts: _Counts) -> np.ndarray:
    """Rows of :data:`PAIR_FEATURES`; the columns drawn from the two words' rows are computed
    for all pairs at once."""
    if not pairs:
        return np.zeros((0, len(PAIR_FEATURES)))
    n = len(pairs)
    items = _column(counts.item_pairs, pairs)
    own = np.column_stack([
        items / n_items, items,
        _column(counts.title_pairs, pairs) / n_items,
        _column(counts.pair_sentences, pairs),
        np.minimum(_column(counts.pair_first, pairs), 10.0),
        _column(counts.pair_leads, pairs),
    ])
    table = base[:, [0, 1, 7, _LEXICON_SUMMARY]]
    a = table[np.fromiter(map(index.__getitem__, map(itemgetter(0), pairs)), dtype=np.intp, count=n)]
    b = table[np.fromiter(map(index.__getitem__, map(itemgetter(1), pairs)), dtype=np.intp, count=n)]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.column_stack([
        own, a[:, 0] + b[:, 0], low[:, 1], high[:, 1], low[:, 2], np.full(n, float(n_items)),
        low[:, 3], high[:, 3],
    ])


class SubsetValue:
    """Expected ROUGE-style matches of a set of sentences, built from predicted probabilities.

    ``word_p`` holds, per word row of ``table``, the chance the reference uses the word at least
    ``k`` times; a set that uses ``w`` ``c`` times earns the chances for ``k`` = 1..``c`` (at most
    :data:`MAX_REPEAT`). Pairs count the same way, once. :meth:`take`/:meth:`remove` keep the
    running word and pair counts of the set being built. What a sentence earns from words and
    pairs no other sentence has does not depend on the set, so it is summed once (``fixed``).
    """

    def __init__(self, table: WordTable, word_p: np.ndarray, pair_p: np.ndarray, pair_weight: float,
                 title_p: Iterable[float] = ()) -> None:
        chances = np.zeros((len(table.text_words), MAX_REPEAT))
        chances[table.word_index, table.word_k - 1] = word_p
        # word -> [chance of >= 1 use, >= 2, ...] (0 beyond the rows the table scored)
        self.chances: dict[str, list[float]] = dict(zip(table.text_words, chances.tolist()))
        pair_value = dict(zip(table.pairs, (np.asarray(pair_p, dtype=float) * pair_weight).tolist()))
        word_sentences, pair_sentences = table.word_sentences, table.pair_sentences
        self.sentence_words: list[list[tuple[str, int, list[float]]]] = []  # words other sentences share
        self.sentence_pairs: list[list[tuple[tuple[str, str], float]]] = []  # pairs other sentences share
        self.fixed: list[float] = []  # what the sentence's own words and pairs earn
        for uses, pairs in zip(table.sentence_counts, table.sentence_pairs):
            shared, fixed = [], 0.0
            for w, c in uses:
                ps = self.chances[w]
                if word_sentences[w] > 1:
                    shared.append((w, c, ps))
                else:
                    for j in range(min(c, MAX_REPEAT)):
                        fixed += ps[j]
            shared_pairs = []
            for pair in pairs:
                if pair_sentences[pair] > 1:
                    shared_pairs.append((pair, pair_value[pair]))
                else:
                    fixed += pair_value[pair]
            self.sentence_words.append(shared)
            self.sentence_pairs.append(shared_pairs)
            self.fixed.append(fixed)
        self.used_words: dict[str, int] = {}
        self.used_pairs: dict[tuple[str, str], int] = {}
        self._alone: dict[int, float] = {}
        # word -> chance an editor's headline uses it (headline-word model; feeds the headline choice)
        self.title_chance = {w: float(p) for w, p in zip(table.title_words, title_p)}

    def word_chance(self) -> dict[str, float]:
        """Each word's predicted chance of being used at least once."""
        return {w: p[0] for w, p in self.chances.items()}

    def alone(self, k: int) -> float:
        """Value of sentence ``k`` on its own."""
        if k not in self._alone:
            gain = self.fixed[k]
            for _, c, ps in self.sentence_words[k]:
                for j in range(min(c, MAX_REPEAT)):
                    gain += ps[j]
            for _, v in self.sentence_pairs[k]:
                gain += v
            self._alone[k] = gain
        return self._alone[k]

    def gain(self, k: int) -> float:
        """Value sentence ``k`` adds to the set built so far."""
        gain = self.fixed[k]
        used = self.used_words
        for w, c, ps in self.sentence_words[k]:
            have = used.get(w, 0)
            if not have and c == 1:
                gain += ps[0]
            elif have < MAX_REPEAT:
                for j in range(have, min(have + c, MAX_REPEAT)):
                    gain += ps[j]
        used_pairs = self.used_pairs
        for p, v in self.sentence_pairs[k]:
            if not used_pairs.get(p):
                gain += v
        return gain

    def take(self, k: int) -> float:
        """Put sentence ``k`` into the set; returns what it added (:meth:`gain` before adding)."""
        gain = self.fixed[k]
        used = self.used_words
        for w, c, ps in self.sentence_words[k]:
            have = used.get(w, 0)
            if not have and c == 1:
                gain += ps[0]
            elif have < MAX_REPEAT:
                for j in range(have, min(have + c, MAX_REPEAT)):
                    gain += ps[j]
            used[w] = have + c
        used_pairs = self.used_pairs
        for p, v in self.sentence_pairs[k]:
            have = used_pairs.get(p, 0)
            if not have:
                gain += v
            used_pairs[p] = have + 1
        return gain

    def add(self, k: int) -> None:
        """Put sentence ``k`` into the set."""
        self.take(k)

    def remove(self, k: int) -> None:
        """Take sentence ``k`` out of the set (counts fall to 0, which :meth:`gain` reads as unused)."""
        used, used_pairs = self.used_words, self.used_pairs
        for w, c, _ in self.sentence_words[k]:
            used[w] -= c
        for p, _ in self.sentence_pairs[k]:
            used_pairs[p] -= 1


def expected_f1(matches: float, words: int, reference_words: float) -> float:
    """ROUGE-style F1 from expected matches, a summary length and an expected reference length."""
    return 2.0 * matches / (words + reference_words) if words else 0.0


