"""Story clustering stage: online, time-aware, with stable ids and recorded merges."""
from .base import Clusterer, LabelClusterer, SingletonClusterer, resolve, story_id_for
from .online import OnlineCentroidClusterer
from ..config import Settings

__all__ = ["Clusterer", "LabelClusterer", "SingletonClusterer", "OnlineCentroidClusterer", "resolve", "story_id_for", "default_clusterer"]


def default_clusterer(settings: Settings) -> Clusterer:
    """The clusterer the product uses unless told otherwise."""
    return OnlineCentroidClusterer(window_days=settings.cluster_window_days)
