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

from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..text.tokens import ROUGE_CASED_WORD, STOPWORDS, stem, tokenize
from .features import Sentence, StoryView

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


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens, lightly stemmed (the way ROUGE tokenizes, roughly):
    :func:`storyline.text.tokenize` with ``rouge=True, stemmed=True``."""
    return tokenize(text, rouge=True, stemmed=True)


@dataclass(slots=True)
class WordTable:
    """The story's word and pair statistics and the rows the word models score.

    Words are numbered by their place in ``vocab`` (sorted), pairs by ``pair_codes``
    (``first * len(vocab) + second``, sorted: the pairs in the order of their words); the
    per-sentence entries list each distinct word (pair) of each sentence, sentence by sentence.
    """

    vocab: list[str]  # every word of the member titles and sentences, sorted
    text_words: list[str]  # the words of the sentences, sorted
    word_index: np.ndarray  # per word row: its word's index in text_words
    word_k: np.ndarray  # per word row: the repeat k
    word_rows: np.ndarray  # one row per (word, k), columns as in WORD_FEATURES
    pair_codes: np.ndarray  # per pair of the sentences: first word * len(vocab) + second word
    pair_rows: np.ndarray  # one row per pair, columns as in PAIR_FEATURES
    sentence_tokens: list[list[str]]
    title_words: list[str]  # every word of the member titles
    title_rows: np.ndarray  # one row per title word, columns as in TITLE_WORD_FEATURES
    entry_sentence: np.ndarray  # per (sentence, word): the sentence
    entry_word: np.ndarray  # ... the word's index in text_words
    entry_uses: np.ndarray  # ... how often the sentence uses it
    pair_entry_sentence: np.ndarray  # per (sentence, pair): the sentence
    pair_entry_pair: np.ndarray  # ... the pair's index in pair_codes
    word_sentences: np.ndarray  # per text word: sentences using it
    pair_sentences: np.ndarray  # per pair: sentences using it

    @property
    def words(self) -> list[tuple[str, int]]:
        """(word, k) of each word row."""
        text = self.text_words
        return [(text[n], k) for n, k in zip(self.word_index.tolist(), self.word_k.tolist())]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Each pair row's two words."""
        vocab, n = self.vocab, max(len(self.vocab), 1)
        return [(vocab[c // n], vocab[c % n]) for c in self.pair_codes.tolist()]


_STEMMED: dict[str, str] = {}  # raw token -> stem(token.lower(), rouge=True); a cache, cleared when large


def _stems(raw: list[str]) -> list[str]:
    """``stem(token.lower(), rouge=True)`` of each raw token (cached: a story repeats its words)."""
    out = list(map(_STEMMED.get, raw))
    if None in out:
        if len(_STEMMED) > 1 << 17:
            _STEMMED.clear()
        for n, r in enumerate(raw):
            if out[n] is None:
                out[n] = _STEMMED[r] = stem(r.lower(), rouge=True)
    return out  # type: ignore[return-value]


def _tokenize(texts: Iterable[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Each text's tokens, and its capitalized tokens other than its first (both stemmed)."""
    tokens_of, capitalized = [], []
    for text in texts:
        raw = ROUGE_CASED_WORD.findall(text)
        stems = _stems(raw)
        tokens_of.append(stems)
        # the ROUGE_CAPITALIZED tokens: a token starts where the one before it ends, so those of raw
        # that start upper-case (ASCII); the first token is left out, capitalized or not
        capitalized.append([s for r, s in zip(raw[1:], stems[1:]) if r[0].isupper()])
    return tokens_of, capitalized


def _numbered(texts: Sequence[list[list[str]]], indexes: Sequence[Mapping[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The word numbers of all tokens of every text of every story (``texts``: each story's texts
    as tokens; ``indexes``: each story's word numbers), and for each the number of the text holding
    it (texts numbered across the stories, in order)."""
    flat = [t for tokens_of in texts for t in tokens_of]
    lengths = np.fromiter(map(len, flat), dtype=np.intp, count=len(flat))
    words = chain.from_iterable(map(index.__getitem__, chain.from_iterable(tokens_of))
                                for tokens_of, index in zip(texts, indexes))
    ids = np.fromiter(words, dtype=np.intp, count=int(lengths.sum()))
    return ids, np.repeat(np.arange(len(flat), dtype=np.intp), lengths)


def _distinct(text: np.ndarray, item: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (text, item) entries, sorted, with how often each occurs."""
    keys, uses = np.unique(text * size + item, return_counts=True)
    return keys // size, keys % size, uses


def _count(values: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(values, minlength=size).astype(float)


def _earliest(where: np.ndarray, position: np.ndarray, size: int) -> np.ndarray:
    """Per word (pair), the earliest position among ``where``/``position`` entries, at most 10; 11 if none."""
    out = np.full(size, 11.0)
    np.minimum.at(out, where, np.minimum(position, 10).astype(float))
    return out


@dataclass(slots=True)
class _Adjacent:
    """Adjacent word pairs of some texts: per distinct (text, pair) entry its text and code."""

    text: np.ndarray
    code: np.ndarray

    @classmethod
    def of(cls, ids: np.ndarray, text: np.ndarray, n_words: int) -> "_Adjacent":
        same = text[1:] == text[:-1]
        codes = ids[:-1][same] * n_words + ids[1:][same]
        where, code, _ = _distinct(text[1:][same], codes, n_words * n_words)
        return cls(where, code)


def word_table(view: StoryView, sents: Sequence[Sentence], lexicon: Lexicon | None = None) -> WordTable:
    """Word rows (one per word and repeat ``k``), pair rows and headline-word rows for ``sents``
    of ``view``, with what ``lexicon`` knows of each word."""
    return word_tables([(view, sents)], lexicon)[0]


_KEYS = 1 << 62  # (sentence, pair) keys of one call stay below this (int64)


def word_tables(stories: Sequence[tuple[StoryView, Sequence[Sentence]]], lexicon: Lexicon | None = None) -> list[WordTable]:
    """:func:`word_table` of each (view, sentences), the same tables to the bit, made together: the
    stories' words, sentences, titles and articles are numbered one story after another, so each
    numpy step runs once for all of them (its fixed cost was most of a small story's table:
    about 0.4 ms of 0.7), and the arrays are then cut back into one table a story."""
    return _tables([_Story.of(view, sents) for view, sents in stories], lexicon or Lexicon())


def _tables(parts: list["_Story"], lexicon: Lexicon) -> list[WordTable]:
    """:func:`word_tables` of the stories' tokens and words (halved while their keys would not fit)."""
    if not parts:
        return []
    if len(parts) > 1 and sum(len(p.vocab) for p in parts) ** 2 * max(sum(len(p.sents) for p in parts), 1) >= _KEYS:
        half = len(parts) // 2
        return _tables(parts[:half], lexicon) + _tables(parts[half:], lexicon)
    word_at = np.cumsum([0] + [len(p.vocab) for p in parts])  # each story's first word number
    sent_at = np.cumsum([0] + [len(p.sents) for p in parts])
    article_at = np.cumsum([0] + [len(p.view.articles) for p in parts])
    indexes = [dict(zip(p.vocab, range(first, first + len(p.vocab)))) for p, first in zip(parts, word_at.tolist())]
    vocab = list(chain.from_iterable(p.vocab for p in parts))
    n = max(len(vocab), 1)
    sizes = [len(p.vocab) for p in parts]
    n_items = np.repeat(np.array([float(max(len(p.view.members), 1)) for p in parts]), sizes)  # per word
    n_sents = np.repeat(np.array([float(max(len(p.sents), 1)) for p in parts]), sizes)
    position = np.fromiter((s.position for p in parts for s in p.sents), dtype=np.intp, count=int(sent_at[-1]))
    article = np.fromiter((s.article + first for p, first in zip(parts, article_at.tolist()) for s in p.sents),
                          dtype=np.intp, count=int(sent_at[-1]))
    lead = position == 0
    ids, sid = _numbered([p.sentence_tokens for p in parts], indexes)
    e_s, e_w, e_uses = _distinct(sid, ids, n)
    used = _count(ids, n)
    most = np.zeros(n, dtype=np.intp)
    np.maximum.at(most, e_w, e_uses)
    t_ids, tid = _numbered([p.title_tokens for p in parts], indexes)
    t_lengths = np.bincount(tid, minlength=sum(len(p.view.members) for p in parts))
    title_position = np.full(n, 1.5)
    np.minimum.at(title_position, t_ids, (np.arange(len(t_ids)) - np.repeat(np.cumsum(t_lengths) - t_lengths, t_lengths))
                  / np.repeat(t_lengths, t_lengths))
    t_e_s, t_e_w, _ = _distinct(tid, t_ids, n)
    titles = _count(t_e_w, n)
    caps_ids, caps_title = _numbered([p.title_capitalized for p in parts], indexes)
    title_caps = _count(_distinct(caps_title, caps_ids, n)[1], n)  # titles capitalizing the word mid-title
    owner = np.fromiter((i + first for p, first in zip(parts, article_at.tolist()) for i in p.view.members), dtype=np.intp,
                        count=len(t_lengths))
    _, items_w, _ = _distinct(np.concatenate([article[e_s], owner[t_e_s]]), np.concatenate([e_w, t_e_w]), n)
    counts = {
        "items": _count(items_w, n), "titles": titles, "text": used, "sentences": _count(e_w, n),
        "leads": _count(e_w[lead[e_s]], n), "first": _earliest(e_w, position[e_s], n),
        "capitalized": _count(_numbered([p.capitalized for p in parts], indexes)[0], n),
    }
    base = _word_base(vocab, counts, n_items, n_sents, lexicon)
    in_text = used > 0
    text_index = np.flatnonzero(in_text)
    repeats = np.minimum(np.minimum(most[text_index] + 1, MAX_REPEAT), used[text_index].astype(np.intp))
    word_index = np.repeat(np.arange(len(text_index), dtype=np.intp), repeats)
    word_k = np.arange(len(word_index)) - np.repeat(np.cumsum(repeats) - repeats, repeats) + 1
    word_rows = np.column_stack([word_k.astype(float), base[text_index[word_index]]])
    in_title = np.flatnonzero(titles > 0)
    title_rows = np.column_stack([base[in_title], title_position[in_title],
                                  title_caps[in_title] / np.maximum(titles[in_title], 1)])
    pairs = _Adjacent.of(ids, sid, n)
    title_pairs = _Adjacent.of(t_ids, tid, n)
    pair_codes, pair_entry = np.unique(pairs.code, return_inverse=True)
    pair_entry = pair_entry.reshape(-1)
    pair_rows = _pair_rows(pair_codes, pair_entry, pairs, title_pairs, base, n, n_items, position, article, owner)
    text_of = np.cumsum(in_text) - 1  # word number -> text word number
    # one story's pair code, from the numbers of its own words: first * its word count + second
    story_first = np.repeat(word_at[:-1], sizes)  # per word: its story's first word number
    story_size = np.repeat(np.maximum(sizes, 1), sizes)
    first, second = pair_codes // n, pair_codes % n
    own_codes = (first - story_first[first]) * story_size[first] + (second - story_first[first])
    word_sentences = counts["sentences"][text_index].astype(np.intp)
    pair_sentences = np.bincount(pair_entry, minlength=len(pair_codes))
    # where each story's part of each array starts (its first word, text word, row, entry, ...)
    bounds = word_at.tolist()
    text_at = np.searchsorted(text_index, bounds).tolist()
    row_at = np.searchsorted(word_index, text_at).tolist()
    title_at = np.searchsorted(in_title, bounds).tolist()
    entry_at = np.searchsorted(e_s, sent_at).tolist()
    pair_at = np.searchsorted(pair_codes, word_at * n).tolist()
    pair_entry_at = np.searchsorted(pairs.text, sent_at).tolist()
    sent_first, text_words, title_words = sent_at.tolist(), text_index.tolist(), in_title.tolist()
    local_entry_word = text_of[e_w]
    out = []
    for j, p in enumerate(parts):
        t0, t1, r0, r1, e0, e1 = text_at[j], text_at[j + 1], row_at[j], row_at[j + 1], entry_at[j], entry_at[j + 1]
        c0, c1, q0, q1 = pair_at[j], pair_at[j + 1], pair_entry_at[j], pair_entry_at[j + 1]
        out.append(WordTable(
            p.vocab, [vocab[i] for i in text_words[t0:t1]], word_index[r0:r1] - t0, word_k[r0:r1], word_rows[r0:r1],
            own_codes[c0:c1], pair_rows[c0:c1], p.sentence_tokens,
            [vocab[i] for i in title_words[title_at[j] : title_at[j + 1]]], title_rows[title_at[j] : title_at[j + 1]],
            e_s[e0:e1] - sent_first[j], local_entry_word[e0:e1] - t0, e_uses[e0:e1],
            pairs.text[q0:q1] - sent_first[j], pair_entry[q0:q1] - c0, word_sentences[t0:t1], pair_sentences[c0:c1],
        ))
    return out


@dataclass(slots=True)
class _Story:
    """One story's tokens and words, before the numbering across stories."""

    view: StoryView
    sents: Sequence[Sentence]
    sentence_tokens: list[list[str]]
    capitalized: list[list[str]]
    title_tokens: list[list[str]]
    title_capitalized: list[list[str]]
    vocab: list[str]  # every word of the member titles and sentences, sorted

    @classmethod
    def of(cls, view: StoryView, sents: Sequence[Sentence]) -> "_Story":
        sentence_tokens, capitalized = _tokenize(s.text for s in sents)
        title_tokens, title_capitalized = _tokenize(view.articles[i].title for i in view.members)
        vocab = sorted(set(chain.from_iterable(sentence_tokens)).union(chain.from_iterable(title_tokens)))
        return cls(view, sents, sentence_tokens, capitalized, title_tokens, title_capitalized, vocab)


def _word_base(vocab: list[str], counts: Mapping[str, np.ndarray], n_items: np.ndarray, n_sents: np.ndarray,
               lexicon: Lexicon) -> np.ndarray:
    """Rows of :data:`_WORD_BASE` for ``vocab`` (``n_items``, ``n_sents``: per word, its story's
    items and sentences, at least 1). Text statistics (count, first position, leads,
    capitalization, sentences) are 0, with position 11, for a word only the titles use."""
    if not vocab:
        return np.zeros((0, len(_WORD_BASE)))
    n = len(vocab)
    items, used = counts["items"], counts["text"]
    length = np.fromiter(map(len, vocab), dtype=float, count=n)
    stopword = np.fromiter(map(STOPWORDS.__contains__, vocab), dtype=bool, count=n) | (length < 2)
    return np.column_stack([
        stopword.astype(float),
        items / n_items,
        items,
        counts["titles"] / n_items,
        used,
        counts["first"],
        counts["leads"],
        np.divide(counts["capitalized"], used, out=np.zeros(n), where=used > 0),
        np.fromiter(map(str.isdigit, vocab), dtype=float, count=n),
        length,
        counts["sentences"] / n_sents,
        n_items,
        lexicon.rows(vocab),
    ])


def _pair_rows(codes: np.ndarray, entry_pair: np.ndarray, pairs: _Adjacent, title_pairs: _Adjacent,
               base: np.ndarray, n_words: int, n_items: np.ndarray, position: np.ndarray, article: np.ndarray,
               owner: np.ndarray) -> np.ndarray:
    """Rows of :data:`PAIR_FEATURES` for the sentences' pairs ``codes`` (``entry_pair``: each
    (sentence, pair) entry's pair; ``n_items``: per word, its story's items)."""
    size = len(codes)
    if not size:
        return np.zeros((0, len(PAIR_FEATURES)))
    # the titles' pairs that the sentences also have
    spot = np.minimum(np.searchsorted(codes, title_pairs.code), size - 1)
    titled = codes[spot] == title_pairs.code
    _, item_pair, _ = _distinct(np.concatenate([article[pairs.text], owner[title_pairs.text[titled]]]),
                                np.concatenate([entry_pair, spot[titled]]), size)
    items = _count(item_pair, size)
    first = codes // n_words
    story_items = n_items[first]
    own = np.column_stack([
        items / story_items, items, _count(spot[titled], size) / story_items, _count(entry_pair, size),
        _earliest(entry_pair, position[pairs.text], size), _count(entry_pair[position[pairs.text] == 0], size),
    ])
    table = base[:, [0, 1, 7, _LEXICON_SUMMARY]]
    a, b = table[first], table[codes % n_words]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.column_stack([
        own, a[:, 0] + b[:, 0], low[:, 1], high[:, 1], low[:, 2], story_items,
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
        self.text_words = table.text_words
        self.first_chance = chances[:, 0]
        n_sents = len(table.sentence_tokens)
        words, uses, where = table.entry_word, table.entry_uses, table.entry_sentence
        earned = np.cumsum(chances, axis=1)[words, np.minimum(uses, MAX_REPEAT) - 1]
        own = table.word_sentences[words] == 1
        pair_value = np.asarray(pair_p, dtype=float) * pair_weight
        pairs, pair_where = table.pair_entry_pair, table.pair_entry_sentence
        own_pair = table.pair_sentences[pairs] == 1
        self.fixed: list[float] = (np.bincount(where[own], earned[own], minlength=n_sents)
                                   + np.bincount(pair_where[own_pair], pair_value[pairs[own_pair]],
                                                 minlength=n_sents)).tolist()
        # per sentence, the words and pairs other sentences share: (word, uses, chances), (pair, value)
        rows = chances.tolist()
        self.sentence_words: list[list[tuple[int, int, list[float]]]] = [[] for _ in range(n_sents)]
        for s, w, c in zip(where[~own].tolist(), words[~own].tolist(), uses[~own].tolist()):
            self.sentence_words[s].append((w, c, rows[w]))
        values = pair_value.tolist()
        self.sentence_pairs: list[list[tuple[int, float]]] = [[] for _ in range(n_sents)]
        for s, p in zip(pair_where[~own_pair].tolist(), pairs[~own_pair].tolist()):
            self.sentence_pairs[s].append((p, values[p]))
        self.used_words = [0] * len(table.text_words)
        self.used_pairs = [0] * len(pair_value)
        self._alone: dict[int, float] = {}
        # word -> chance an editor's headline uses it (headline-word model; feeds the headline choice)
        self.title_chance = {w: float(p) for w, p in zip(table.title_words, title_p)}

    def word_chance(self) -> dict[str, float]:
        """Each word's predicted chance of being used at least once."""
        return dict(zip(self.text_words, self.first_chance.tolist()))

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
            have = used[w]
            if not have and c == 1:
                gain += ps[0]
            elif have < MAX_REPEAT:
                for j in range(have, min(have + c, MAX_REPEAT)):
                    gain += ps[j]
        used_pairs = self.used_pairs
        for p, v in self.sentence_pairs[k]:
            if not used_pairs[p]:
                gain += v
        return gain

    def take(self, k: int) -> float:
        """Put sentence ``k`` into the set; returns what it added (:meth:`gain` before adding)."""
        gain = self.gain(k)
        used, used_pairs = self.used_words, self.used_pairs
        for w, c, _ in self.sentence_words[k]:
            used[w] += c
        for p, _ in self.sentence_pairs[k]:
            used_pairs[p] += 1
        return gain

    def add(self, k: int) -> None:
        """Put sentence ``k`` into the set."""
        self.take(k)

    def remove(self, k: int) -> None:
        """Take sentence ``k`` out of the set."""
        used, used_pairs = self.used_words, self.used_pairs
        for w, c, _ in self.sentence_words[k]:
            used[w] -= c
        for p, _ in self.sentence_pairs[k]:
            used_pairs[p] -= 1


def expected_f1(matches: float, words: int, reference_words: float) -> float:
    """ROUGE-style F1 from expected matches, a summary length and an expected reference length."""
    return 2.0 * matches / (words + reference_words) if words else 0.0


