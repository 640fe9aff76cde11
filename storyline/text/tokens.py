"""Word tokens and stopwords shared by dedup, clustering and summaries."""
from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)

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


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; dots inside acronyms are dropped (``U.S.`` -> ``us``)."""
    return [w.replace(".", "").casefold() for w in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Tokens that are not stopwords, numbers kept."""
    return [w for w in tokenize(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
