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
    word_rows: np.ndarray  # one row per (word, k), columns as in WORD_FEATURES
    pairs: list[tuple[str, str]]
    pair_rows: np.ndarray  # one row per pair, columns as in PAIR_FEATURES
    sentence_tokens: list[list[str]]
    title_words: list[str]  # every word of the member titles
    title_rows: np.ndarray  # one row per title word, columns as in TITLE_WORD_FEATURES
    sentence_pairs: list[set[tuple[str, str]]] = field(default_factory=list)  # adjacent pairs per sentence


_STEMMED: dict[str, str] = {}  # raw token -> stem(token.lower()); a cache, cleared when large


def _stems(raw: list[str]) -> list[str]:
    """``stem(token.lower())`` of each raw token (cached: a story repeats its words)."""
    cache = _STEMMED
    if len(cache) > 1 << 17:
        cache.clear()
    out = []
    for r in raw:
        t = cache.get(r)
        if t is None:
            t = cache[r] = stem(r.lower())
        out.append(t)
    return out


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
    for i in view.members:
        raw = _CASED_TOKEN.findall(view.articles[i].title)
        title = _stems(raw)
        position = counts.title_position
        for n, t in enumerate(title):
            if t not in position or n / len(title) < position[t]:
                position[t] = n / len(title)
        counts.title_capitalized.update({t for r, t in zip(raw[1:], title[1:]) if r[0].isupper()})
        words, pairs = set(title), set(zip(title, title[1:]))
        counts.titles.update(words)
        counts.title_pairs.update(pairs)
        out[i] = (words, pairs)
    return out


def _count_sentences(sents: Sequence[Sentence], counts: _Counts) -> tuple[list[list[str]], list[set[str]],
                                                                             list[set[tuple[str, str]]]]:
    """Sentence statistics; returns each sentence's tokens, word set and pair set."""
    tokens_of, words_of, pairs_of = [], [], []
    for s in sents:
        raw = _CASED_TOKEN.findall(s.text)
        toks = _stems(raw)
        words, pairs = set(toks), set(zip(toks, toks[1:]))
        counts.text.update(toks)
        counts.capitalized.update([t for r, t in zip(raw[1:], toks[1:]) if r[0].isupper()])
        counts.sentences.update(words)
        counts.pair_sentences.update(pairs)
        if len(words) < len(toks):
            most = counts.max_in_sentence
            for t, c in Counter(toks).items():
                if c > 1 and c > most.get(t, 1):
                    most[t] = c
        if s.position == 0:
            counts.leads.update(words)
            counts.pair_leads.update(pairs)
        tokens_of.append(toks)
        words_of.append(words)
        pairs_of.append(pairs)
    # earliest positions: write the latest sentences first, so earlier ones overwrite them
    for k in sorted(range(len(sents)), key=lambda k: -sents[k].position):
        counts.first.update(dict.fromkeys(words_of[k], sents[k].position))
        counts.pair_first.update(dict.fromkeys(pairs_of[k], sents[k].position))
    return tokens_of, words_of, pairs_of


def word_table(view: StoryView, sents: Sequence[Sentence], lexicon: Lexicon | None = None) -> WordTable:
    """Word rows (one per word and repeat ``k``), pair rows and headline-word rows for ``sents``
    of ``view``, with what ``lexicon`` knows of each word."""
    lexicon = lexicon or Lexicon()
    counts = _Counts()
    titles = _count_titles(view, counts)
    sentence_tokens, words_of, pairs_of = _count_sentences(sents, counts)
    item_words: dict[int, set[str]] = {i: set(w) for i, (w, _) in titles.items()}
    item_pairs: dict[int, set[tuple[str, str]]] = {i: set(p) for i, (_, p) in titles.items()}
    for s, words, pairs in zip(sents, words_of, pairs_of):
        item_words.setdefault(s.article, set()).update(words)
        item_pairs.setdefault(s.article, set()).update(pairs)
    for words in item_words.values():
        counts.items.update(words)
    for pairs in item_pairs.values():
        counts.item_pairs.update(pairs)
    n_items = max(len(view.members), 1)
    vocab = sorted(counts.text.keys() | counts.titles.keys())
    base = _word_base(vocab, counts, n_items, max(len(sents), 1), lexicon)
    index = {t: n for n, t in enumerate(vocab)}
    text = counts.text
    in_text = [n for n, t in enumerate(vocab) if t in text]
    repeats = np.array([min(counts.max_in_sentence.get(vocab[n], 1) + 1, MAX_REPEAT, text[vocab[n]]) for n in in_text],
                       dtype=np.int64)
    rows = np.repeat(np.asarray(in_text, dtype=np.int64), repeats)
    ks = np.arange(len(rows)) - np.repeat(np.cumsum(repeats) - repeats, repeats) + 1
    words = [(vocab[n], int(k)) for n, k in zip(rows.tolist(), ks.tolist())]
    word_rows = np.column_stack([ks.astype(float), base[rows]])
    title_vocab = sorted(counts.titles)
    title_index = [index[t] for t in title_vocab]
    title_rows = np.column_stack([
        base[title_index].reshape(len(title_vocab), base.shape[1]),
        np.array([counts.title_position.get(t, 1.5) for t in title_vocab], dtype=float),
        np.array([counts.title_capitalized[t] / (counts.titles[t] or 1) for t in title_vocab], dtype=float),
    ]) if title_vocab else np.zeros((0, len(TITLE_WORD_FEATURES)))
    pairs = sorted(counts.pair_sentences)
    return WordTable(words, word_rows, pairs, _pair_rows(pairs, base, index, n_items, counts),
                     sentence_tokens, title_vocab, title_rows, pairs_of)


def _word_base(vocab: list[str], counts: _Counts, n_items: int, n_sents: int, lexicon: Lexicon) -> np.ndarray:
    """Rows of :data:`_WORD_BASE` for ``vocab``. Text statistics (count, first position, leads,
    capitalization, sentences) are 0, with position 11, for a word only the titles use."""
    if not vocab:
        return np.zeros((0, len(_WORD_BASE)))
    text, first = counts.text, counts.first
    items = np.array([counts.items[t] for t in vocab], dtype=float)
    used = np.array([text.get(t, 0) for t in vocab], dtype=float)
    in_text = used > 0
    capitalized = np.array([counts.capitalized.get(t, 0) for t in vocab], dtype=float)
    sentences = np.array([counts.sentences.get(t, 0) for t in vocab], dtype=float)
    return np.column_stack([
        np.array([float(t in STOPWORDS or len(t) < 2) for t in vocab]),
        items / n_items,
        items,
        np.array([counts.titles.get(t, 0) for t in vocab], dtype=float) / n_items,
        used,
        np.array([min(first[t], 10) if t in first else 11 for t in vocab], dtype=float),
        np.array([counts.leads.get(t, 0) for t in vocab], dtype=float),
        np.divide(capitalized, used, out=np.zeros(len(vocab)), where=in_text),
        np.array([float(t.isdigit()) for t in vocab]),
        np.array([float(len(t)) for t in vocab]),
        sentences / n_sents,
        np.full(len(vocab), float(n_items)),
        np.array([lexicon(t) for t in vocab], dtype=float).reshape(len(vocab), -1),
    ])


def _pair_rows(pairs: list[tuple[str, str]], base: np.ndarray, index: Mapping[str, int], n_items: int,
               counts: _Counts) -> np.ndarray:
    """Rows of :data:`PAIR_FEATURES`; the columns drawn from the two words' rows are computed
    for all pairs at once."""
    if not pairs:
        return np.zeros((0, len(PAIR_FEATURES)))
    items = np.array([counts.item_pairs[p] for p in pairs], dtype=float)
    first = counts.pair_first
    own = np.column_stack([
        items / n_items, items,
        np.array([counts.title_pairs.get(p, 0) for p in pairs], dtype=float) / n_items,
        np.array([counts.pair_sentences[p] for p in pairs], dtype=float),
        np.array([min(first[p], 10) for p in pairs], dtype=float),
        np.array([counts.pair_leads.get(p, 0) for p in pairs], dtype=float),
    ])
    table = base[:, [0, 1, 7, _LEXICON_SUMMARY]]
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


