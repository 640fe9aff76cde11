"""Headline choice: the central title (baseline) or a learned choice among member titles."""
from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Mapping, Sequence

from ..models import Article
from ..text import STOPWORDS, content_words, split_sentences
from ..text.titles import trim_title

if TYPE_CHECKING:
    from .chances import WordChances
    from .features import StoryView
    from .noise import OffTopicDetector

_MAX_FALLBACK_WORDS = 20


class CentralTitleHeadliner:
    """Picks the input title sharing the most content words with the story's other items; with
    no titles, the first sentence of the most central text (trimmed to its first clause when
    long)."""

    name = "central-title.v1"

    def __call__(self, articles: Sequence[Article]) -> tuple[str, int | None]:
        if not articles:
            return "", None
        bags = [set(content_words(a.body)) for a in articles]
        story_df = Counter(w for bag in bags for w in bag)

        def agreement(i: int, words: set[str]) -> float:
            return sum(story_df[w] - (w in bags[i]) for w in words) / (len(words) ** 0.5 or 1.0)

        titled = [i for i, a in enumerate(articles) if a.title.strip()]
        if titled:
            best = max(titled, key=lambda i: (agreement(i, set(content_words(articles[i].title))), -i))
            return articles[best].title.strip(), best
        best = max(range(len(articles)), key=lambda i: (agreement(i, bags[i]), -i))
        sentences = split_sentences(articles[best].text)
        first = sentences[0] if sentences else articles[best].text
        words = first.split()
        if len(words) > _MAX_FALLBACK_WORDS:
            first = " ".join(words[:_MAX_FALLBACK_WORDS]).rstrip(",;:") + "…"
        return first, best


HEADLINE_FEATURES = (
    "agreement", "title_agreement", "words", "content_words", "question", "colon", "quote",
    "exclamation", "capitalized_share", "trimmed", "article_agreement", "text_overlap",
    "agreement_rank", "titles", "headline_only", "first_person", "part", "word_value_mean",
    "word_value_sum", "content_value_mean", "value_rank", "title_value_sum", "title_value_mean",
    "title_f1", "title_f1_rank", "title_f1_gap",
)
REFERENCE_HEADLINE_WORDS = 8.5  # typical length of an editor's headline (NeuS train median 8, mean 8.4)
_PARTS = re.compile(r"\s+[—–-]\s+|:\s+|;\s+")
_MIN_PART_WORDS = 4


def title_variants(title: str) -> list[tuple[str, bool]]:
    """The trimmed title, and each of its parts around a dash or colon that could stand alone
    (``(text, is_part)``)."""
    full = trim_title(title)
    out = [(full, False)]
    parts = _PARTS.split(full)
    if len(parts) > 1:
        out.extend((p.strip(), True) for p in parts if len(p.split()) >= _MIN_PART_WORDS)
    return out


def headline_features(view: "StoryView", options: Sequence[tuple[int, str, bool]],
                      word_p: Mapping[str, float], title_p: Mapping[str, float]) -> list[list[float]]:
    """One row per headline option ``(article, text, is_part)``, columns as in
    :data:`HEADLINE_FEATURES`; ``word_p`` maps a word (:func:`~.words.tokens`) to the predicted
    chance that the story's summary uses it, ``title_p`` to the chance an editor's headline does."""
    from .features import bag
    from .words import tokens

    titled = sorted({i for i, _, _ in options})
    agreement = {i: view.others(i, view.title_bags[i]) for i in titled}
    rank = sorted(titled, key=lambda i: -agreement[i])
    values, title_f1 = [], []
    for _, text, _ in options:
        toks = tokens(text)
        content = [t for t in toks if t not in STOPWORDS]
        values.append((sum(word_p.get(t, 0.0) for t in toks), len(toks), content))
        hit = sum(title_p.get(t, 0.0) for t in set(toks))
        title_f1.append((hit, 2.0 * hit / (len(toks) + REFERENCE_HEADLINE_WORDS)))
    by_value = sorted(range(len(options)), key=lambda k: -values[k][0] / (values[k][1] or 1))
    best_f1 = max(f for _, f in title_f1)
    by_f1 = sorted(range(len(options)), key=lambda k: -title_f1[k][1])
    rows = []
    per_article = {}  # what every option of one article shares
    # a word is in the other titles when a titled article other than i holds it: counted, not a
    # union of the others per article (quadratic: 3.5 GB for a story of 6,773 articles)
    in_titles = Counter(w for j in titled for w in view.title_bags[j])
    place = {i: k for k, i in enumerate(rank)}
    for i in titled:
        text_bag = view.text_bags[i] if view.text_bags else set(bag(view.articles[i].text))
        per_article[i] = (view.title_bags[i], view.others(i, view.item_bags[i]), text_bag, float(place[i]))
    for n, (i, title, part) in enumerate(options):
        raw = view.articles[i].title.strip()
        words = title.split()
        stems = set(bag(title))
        own_title, article_agreement, text_bag, article_rank = per_article[i]
        total, n_tokens, content = values[n]
        rows.append([
            view.others(i, stems),
            sum(1 for w in stems if in_titles[w] - (w in own_title) >= 1) / (len(stems) or 1),
            float(len(words)),
            float(len(stems)),
            float("?" in title),
            float(":" in title),
            float(any(q in title for q in "\"“”'‘’")),
            float("!" in title),
            sum(w[:1].isupper() for w in words) / (len(words) or 1),
            float(title != raw),
            article_agreement,
            len(stems & text_bag) / (len(stems) or 1),
            article_rank,
            float(len(titled)),
            float(view.articles[i].headline_only),
            float(any(w in ("I", "We", "we", "My", "my", "Our", "our") for w in words)),
            float(part),
            total / (n_tokens or 1),
            total,
            sum(word_p.get(t, 0.0) for t in content) / (len(content) or 1),
            float(by_value.index(n)),
            title_f1[n][0],
            title_f1[n][0] / (n_tokens or 1),
            title_f1[n][1],
            float(by_f1.index(n)),
            best_f1 - title_f1[n][1],
        ])
    return rows


class LearnedHeadliner:
    """Picks, among the member titles and their parts around a dash or colon, the one a learned
    model expects to read most like an editor's neutral headline (trained on NeuS: agreement with
    the other items, the predicted summary-worthiness of its words, length, punctuation), with
    outlet names and rubrics trimmed. Items judged off-topic are never used; with no titles, the
    summary's best sentence stands in (first clause when long)."""

    name = "learned-title.v2"

    def __init__(self, model: "dict[str, object] | None" = None, *, words: "WordChances | None" = None,
                 detector: "OffTopicDetector | None" = None) -> None:
        from .scoring import load_model, scorer_from_dict

        self.scorer = scorer_from_dict(model or load_model()["headline"])  # type: ignore[arg-type]
        self.words = words  # for standalone use; built from the packaged model when first needed
        self.detector = detector

    def choose(self, view: "StoryView", fallback: Sequence[tuple[str, int]] = (),
               word_p: Mapping[str, float] | None = None,
               title_p: Mapping[str, float] | None = None) -> tuple[str, int | None]:
        """Headline from ``view``'s member titles, else the first of ``fallback`` (text, article)."""
        options = [(i, text, part) for i in view.members if view.articles[i].title.strip()
                   for text, part in title_variants(view.articles[i].title)]
        if options:
            scores = self.scorer.predict(headline_features(view, options, word_p or {}, title_p or {}))
            best = max(range(len(options)), key=lambda k: (float(scores[k]), -k))
            return options[best][1], options[best][0]
        for text, article in fallback:
            return _shorten(text), article
        return "", None

    def __call__(self, articles: Sequence[Article]) -> tuple[str, int | None]:
        """Standalone use: the same choice the learned summarizer makes (off-topic items left
        out, the word chances of :class:`~.chances.WordChances` feeding it, a later development
        followed), without choosing summary sentences."""
        from .chances import WordChances, best_first
        from .features import StoryView, story_sentences
        from .noise import OffTopicDetector
        from .scoring import load_model

        if not articles:
            return "", None
        if self.words is None:
            self.words = WordChances()
        if self.detector is None:
            self.detector = OffTopicDetector(load_model()["offtopic"])
        view = StoryView.build(articles)
        view = view.with_members(self.detector(articles, view))
        sents = story_sentences(articles, view.members, view)
        value = self.words.values(view, sents)
        ranked = best_first(sents, value, self.words.reference_length(sents))
        headline, source = self.choose(view, [(sents[k].text, sents[k].article) for k in ranked],
                                       value.word_chance(), value.title_chance)
        return follow_development(view, headline, source)


def _shorten(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= _MAX_FALLBACK_WORDS:
        return sentence
    return " ".join(words[:_MAX_FALLBACK_WORDS]).rstrip(",;:") + "…"


# -- a headline that follows the story ------------------------------------------------------
# Words saying that something was settled: a result, a verdict, a toll, an outcome. A title with
# one of them, published after the chosen headline's report, carries a development that
# supersedes it ("X leads as count passes 70 percent" -> "X wins governor race").
_RESOLUTION = re.compile(
    r"\b(?:wins?|won|beats?|beaten|defeats?|defeated|elected|re-elected|concedes?|conceded|clinch(?:es|ed)|"
    r"verdict|convicted|acquitted|guilty|sentenced|jailed|cleared|overturn(?:s|ed)|upheld|"
    r"resigns?|resigned|ousted|sacked|arrested|charged|captured|freed|released|rescued|found dead|found safe|"
    r"approves?|approved|passes law|signs?|signed|ratified|settled|called off|cancel(?:s|ed|led)|"
    r"ends?|ended|sworn in)\b", re.IGNORECASE)
_TOLL = re.compile(r"\b(?:kill(?:s|ed)?|dead|dies|died|deaths?|death toll|toll|injur(?:es|ed|ing))\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
_NOT_NEWS = re.compile(r"^(?:analysis|opinion|comment|review|explainer|live|watch|how|why|what|could|should|will)\b"
                       r"|\?|\b(?:could|may|might|would|expected to|set to|poised to|likely to|bid to|vows? to|"
                       r"hopes? to|aims? to)\b", re.IGNORECASE)


def carries_development(title: str) -> bool:
    """True when ``title`` reports something settled (a result, verdict, toll ...), not a
    prospect, a question or a commentary."""
    if not title.strip() or _NOT_NEWS.search(title.strip()):
        return False
    return bool(_RESOLUTION.search(title) or (_TOLL.search(title) and _NUMBER.search(title)))


def follow_development(view: "StoryView", headline: str, source: int | None,
                       min_shared: int = 2) -> tuple[str, int | None]:
    """The headline, moved to the latest later development when one supersedes it.

    A member title replaces ``headline`` (from article ``source``) when its article was published
    after ``source``'s, it :func:`carries_development`, and it is on-story: at least
    ``min_shared`` of its content words are core words of the story (used by at least half of
    the member items, and by at least two). The latest such title wins. A headline that already
    reports an outcome stays; one that reports a toll gives way only to a later toll. Without
    publication times nothing moves.
    """
    if source is None or len(view.members) < 2:
        return headline, source
    chosen_time = view.articles[source].published
    if chosen_time is None:
        return headline, source
    need = max(2, (len(view.members) + 1) // 2)
    core = {w for w, n in view.df.items() if n >= need}
    later = [i for i in view.members
             if i != source and view.articles[i].published is not None and view.articles[i].published > chosen_time
             and carries_development(view.articles[i].title) and len(view.title_bags[i] & core) >= min_shared]
    if _RESOLUTION.search(headline) and not _NOT_NEWS.search(headline):
        return headline, source  # already reports an outcome; a later outcome-word title is a sidebar
    if carries_development(headline):  # a toll: only a later toll supersedes it
        later = [i for i in later if _TOLL.search(view.articles[i].title)]
    if not later:
        return headline, source
    best = max(later, key=lambda i: (view.articles[i].published, view.others(i, view.title_bags[i]), -i))
    return trim_title(view.articles[best].title), best
