"""The public Python surface and the stage protocols."""
import pytest

import storyline
from storyline.cluster import Clusterer, SingletonClusterer, default_clusterer
from storyline.dedup import Deduplicator, MinHashDeduplicator, NoDedup
from storyline.pipeline import Pipeline
from storyline.summarize import CentroidSummarizer, LeadSummarizer, Summarizer, default_summarizer


def test_public_names_exist():
    for name in storyline.__all__:
        assert hasattr(storyline, name), name


def test_stage_implementations_satisfy_their_protocols():
    assert isinstance(MinHashDeduplicator(), Deduplicator) and isinstance(NoDedup(), Deduplicator)
    assert isinstance(SingletonClusterer(), Clusterer)
    assert isinstance(default_clusterer(storyline.Settings()), Clusterer)
    for summarizer in (LeadSummarizer(), CentroidSummarizer(), default_summarizer()):
        assert isinstance(summarizer, Summarizer)


def test_pipeline_rejects_an_object_that_is_not_a_stage():
    with pytest.raises(TypeError, match="does not implement Clusterer"):
        Pipeline(clusterer=object())  # type: ignore[arg-type]


def test_simplest_stages_compose():
    arts = [storyline.Article("a", "Bridge shut", "A ship hit the bridge."), storyline.Article("b", "Bridge shut", "A ship hit the bridge.")]
    stories = storyline.digest(arts, dedup=NoDedup(), clusterer=SingletonClusterer(), summarizer=LeadSummarizer())
    assert [s.size for s in stories] == [1, 1]
    stories = storyline.digest(arts, clusterer=SingletonClusterer())
    assert [(s.size, s.duplicates) for s in stories] == [(1, 1)]


def test_settings_reject_unknown_names():
    with pytest.raises(storyline.ConfigError, match="unknown setting"):
        storyline.Settings().with_(colour="blue")
