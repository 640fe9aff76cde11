"""Story synthesis: headline and attributed extractive summary.

Every summarizer is ``summarizer(articles, max_words=50) -> Summary`` (:class:`Summarizer`);
:func:`default_summarizer` is the one the CLI, the store and the web use.
"""
from .base import DEFAULT_MAX_WORDS, Candidate, Headliner, Summarizer, candidates, fill_budget
from .baselines import CentroidSummarizer, LeadSummarizer
from .headline import CentralTitleHeadliner, LearnedHeadliner
from .learned import LearnedSummarizer
from .noise import OffTopicDetector


def default_summarizer() -> Summarizer:
    """The summarizer the product uses unless told otherwise: :class:`LearnedSummarizer`."""
    return LearnedSummarizer()


__all__ = [
    "DEFAULT_MAX_WORDS", "Candidate", "Headliner", "Summarizer", "candidates", "fill_budget",
    "CentroidSummarizer", "LeadSummarizer", "LearnedSummarizer", "CentralTitleHeadliner",
    "LearnedHeadliner", "OffTopicDetector", "default_summarizer",
]
