"""Sentences that stand alone: finding summary sentences that lean on an antecedent they lack.

A quoted sentence can point back to something said before it in its article: a bare pronoun
subject ("She is due to be sworn in ..."), an anaphoric noun phrase ("The move follows ..."), or a
quote attributed only to a pronoun ("'...,' he said."). In a summary such a sentence is fine right
after the sentence it follows in its article, and dangling anywhere else.

:func:`needs_antecedent` tells whether a sentence leans back; :func:`dangling` tells, for the
sentences of a summary, which ones do so without their article's previous sentence right before
them. The learned summarizer uses both to take such a sentence with its antecedent or not at all.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import Article
from ..text import split_sentences

_OPEN = r"^[\s(\[]*"  # a pronoun inside an opening quote belongs to the speaker, not the summary
_EXPLETIVE = (r"(?!\s+(?:is|was|has been|had been|seems|seemed|appears|remains|remained)"
              r"\s+(?:[\w’'-]+\s+){0,3}(?:that|whether|if|to|how|why|when)\b)")
_PRONOUN_SUBJECT = re.compile(
    _OPEN + r"(?:(?:he|she|they|his|her|its|their|them|him|this|these|those|that|such|"
    r"the (?:latter|two|pair|couple|same))(?=[\s,;:’'])(?!['’]s\b)(?!\s+(?:who|which|whose|of)\b)"
    # an expletive "it" ("It is a truism that ...", "It was unclear whether ...") points nowhere
    r"|it(?=[\s,;:’'])(?!['’]s\b)" + _EXPLETIVE + r")",
    re.IGNORECASE)
_ANAPHORIC_NOUN = re.compile(
    _OPEN + r"(?:the|this|that|these|those|such an?|such)\s+(?:latest\s+|new\s+|surprise\s+|sudden\s+|"
    r"controversial\s+)?(?:move|moves|decision|decisions|attack|attacks|announcement|deal|agreement|"
    r"statement|statements|comments?|remarks?|incident|incidents|plan|plans|proposal|measure|measures|"
    r"step|steps|action|actions|change|changes|news|development|effort|efforts|claim|claims|report|"
    r"findings?|ruling|order|shift|offer|request|allegations?|accusations?|criticism|warning|threat|"
    r"episode|event|case|situation|issue|problem|policy|law|bill|letter|call|visit|trip|meeting|talks|"
    r"spokes(?:man|woman|person)|official|company|group|agency|firm|man|woman)"
    # a noun defined on the spot ("The move to cut rates", "The order from Judge X") stands alone
    r"(?![-\w])(?!\s+(?:of|from|by|to|for|in|on|at|against|with|over|that|which|who|whose|\w+ing|\w+ed)\b)",
    re.IGNORECASE)
_PRONOUN_ATTRIBUTION = re.compile(
    r"[\"”’']\s*,?\s*(?:he|she|they|it)\s+(?:said|says|added|adds|told|wrote|explained|noted|continued|"
    r"argued|insisted|warned|stated|tweeted|recalled|replied|asked)\b"
    r"|[\"”’']\s*,?\s*(?:said|says|added|adds)\s+(?:he|she|they)\b",
    re.IGNORECASE)
_SUBJECT_ONLY_NOUNS = re.compile(r"^[\s\"'“‘(\[]*(?:the|this|that|these|those|such)\s+(?:company|group|agency|firm|man|"
                                 r"woman|official|spokes(?:man|woman|person))\s+(?:of|at|in|from|for|who|which)\b",
                                 re.IGNORECASE)


def needs_antecedent(sentence: str) -> bool:
    """True when ``sentence`` opens by pointing back (a bare pronoun subject, or "The move/
    decision/attack ..."-style phrase) or quotes someone named only by a pronoun."""
    text = sentence.strip()
    if not text:
        return False
    if _PRONOUN_SUBJECT.match(text):
        return True
    if _ANAPHORIC_NOUN.match(text) and not _SUBJECT_ONLY_NOUNS.match(text):
        return True
    return bool(_PRONOUN_ATTRIBUTION.search(text))


def positions(text: str, article: Article) -> int | None:
    """The index of ``text`` among the article's sentences, or None when it is not one of them."""
    for j, sent in enumerate(split_sentences(article.text)):
        if sent == text:
            return j
    return None


def dangling(sentences: Sequence[tuple[str, int]], articles: Sequence[Article]) -> list[bool]:
    """For each summary sentence ``(text, article index)``, in summary order: True when it needs
    an antecedent and the sentence just before it in the summary is not the one just before it in
    its article."""
    split = {i: split_sentences(articles[i].text) for i in {a for _, a in sentences} if 0 <= i < len(articles)}
    out = []
    for n, (text, art) in enumerate(sentences):
        if not needs_antecedent(text):
            out.append(False)
            continue
        own = split.get(art, [])
        where = own.index(text) if text in own else None
        previous = own[where - 1] if where else None
        before = sentences[n - 1] if n else None
        out.append(previous is None or before != (previous, art))
    return out


__all__ = ["dangling", "needs_antecedent", "positions"]
