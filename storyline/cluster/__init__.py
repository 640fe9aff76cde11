"""Story clustering stage: online, time-aware, with stable ids and recorded merges."""
from .base import Clusterer, LabelClusterer, SingletonClusterer, placed, resolve, story_id_for
from .stream import StoryClusterer
from ..config import Settings

__all__ = [
    "Clusterer", "LabelClusterer", "SingletonClusterer", "StoryClusterer",
    "placed", "resolve", "story_id_for", "default_clusterer",
]


def default_clusterer(settings: Settings) -> Clusterer:
    """The clusterer the product uses unless told otherwise: :class:`StoryClusterer` with the
    committed join model and the bundled static embeddings (or the sentence-transformers model
    named by ``settings.embedder``; the join model was trained on the bundled ones)."""
    if settings.embedder:
        from ..text.embed import make_embedder

        return StoryClusterer(window_days=settings.cluster_window_days, embedder=make_embedder(settings.embedder),
                              workers=settings.workers)
    return StoryClusterer(window_days=settings.cluster_window_days, workers=settings.workers)
