"""Story synthesis: headline and attributed extractive summary."""
from .base import DEFAULT_MAX_WORDS, Candidate, Headliner, Summarizer, candidates, fill_budget
from .baselines import CentroidSummarizer, LeadSummarizer
from .headline import CentralTitleHeadliner


def default_summarizer() -> Summarizer:
    """The summarizer the product uses unless told otherwise."""
    return CentroidSummarizer()


__all__ = [
    "DEFAULT_MAX_WORDS", "Candidate", "Headliner", "Summarizer", "candidates", "fill_budget",
    "CentroidSummarizer", "LeadSummarizer", "CentralTitleHeadliner", "default_summarizer",
]
