"""Summaries a reader can follow: a headline that keeps up with the story."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.ingest import read_paths
from storyline.models import Article
from storyline.engine import open_engine
from storyline.store.editorial import headline_history
from storyline.summarize import LearnedSummarizer, default_summarizer
from storyline.summarize.features import StoryView
from storyline.summarize.headline import carries_development, follow_development

T0 = datetime(2026, 5, 2, 21, 0, tzinfo=UTC)


def demo_id(given: str) -> str:
    """The stored id of the demo corpus's article ``given`` (namespaced by its file at ingest)."""
    from storyline.ingest.boundary import namespaced_id

    return namespaced_id(demo_corpus_path(), given)


def trial(titles: list[str], hours: list[float | None]) -> list[Article]:
    body = ("The jury in the trial of former harbour commissioner Aldo Quist heard closing arguments on Friday "
            "after three weeks of testimony about the Westgate pier contracts. Quist denies taking bribes. ")
    return [Article(id=f"t{i}", title=t, text=body + f"Report number {i} adds detail {i}.", source=f"Outlet {i}",
                    published=None if h is None else T0 + timedelta(hours=h))
            for i, (t, h) in enumerate(zip(titles, hours))]


@pytest.mark.parametrize("title, expected", [
    ("Jury finds Quist guilty of taking bribes over Westgate pier", True),
    ("Frane wins Halvern governor race", True),
    ("Earthquake death toll rises to 41", True),
    ("Corvel earthquake injures 23, damages historic church", True),
    ("Earthquake injures people", False),  # a toll needs a number
    ("Frane leads Brannigan as count passes 70 percent", False),
    ("Could Frane win the governor race?", False),
    ("Analysis: How Frane won the suburbs", False),
    ("Quist expected to be sentenced next week", False),
    ("", False),
])
def test_carries_development(title: str, expected: bool) -> None:
    assert carries_development(title) is expected


def test_a_later_verdict_supersedes_the_headline() -> None:
    arts = trial(["Closing arguments heard in Quist bribery trial over Westgate pier",
                  "Quist bribery trial jury begins deliberating over Westgate pier contracts",
                  "Quist found guilty in Westgate pier bribery trial"], [0, 1, 20])
    view = StoryView.build(arts)
    assert follow_development(view, arts[0].title, 0) == ("Quist found guilty in Westgate pier bribery trial", 2)
    summary = default_summarizer()(arts)
    assert summary.headline == "Quist found guilty in Westgate pier bribery trial"
    assert summary.headline_article == 2 and summary.superseded and summary.superseded[0][0] != summary.headline


def test_nothing_moves_without_times_or_off_story_or_earlier() -> None:
    titles = ["Closing arguments heard in Quist bribery trial over Westgate pier",
              "Quist found guilty in Westgate pier bribery trial"]
    undated = trial(titles, [None, None])
    assert follow_development(StoryView.build(undated), titles[0], 0) == (titles[0], 0)
    earlier = trial(titles, [5, 1])  # the verdict title is older than the chosen one: not a development
    assert follow_development(StoryView.build(earlier), titles[0], 0) == (titles[0], 0)
    off = trial([titles[0], "Averill Athletic win Halvern Cup in extra time"], [0, 9])
    assert follow_development(StoryView.build(off), titles[0], 0) == (titles[0], 0)


def test_an_outcome_headline_stays_and_a_toll_gives_way_only_to_a_later_toll() -> None:
    titles = ["Quist found guilty in Westgate pier bribery trial", "Quist trial ends as jury is thanked by judge"]
    arts = trial(titles, [0, 5])
    assert follow_development(StoryView.build(arts), titles[0], 0) == (titles[0], 0)


def test_demo_election_headline_reports_the_result_and_keeps_its_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_engine(Settings(data_dir=tmp_path))
    store.add_articles(read_paths([demo_corpus_path()]))
    sid = store.story_of_article(demo_id("demo-018"))
    story = store.story(sid)
    assert story is not None and story.summary is not None
    assert story.summary.headline == "Frane wins Halvern governor race, ending Brannigan's eight-year tenure"
    assert "won" in story.summary.text  # the summary and the headline now agree
    history = headline_history(store, sid)
    assert [h["headline"] for h in history] == ["Frane leads Brannigan as Halvern count passes 70 percent",
                                                story.summary.headline]
    assert history[-1]["reason"] == "later development" and history[-1]["outlet"] == "Valley Wire Service"
    # a pinned headline still wins, and joins the history
    store.pin_headline(sid, "Frane elected governor of Halvern")  # the engine refreshes the story
    assert store.story(sid).summary.headline == "Frane elected governor of Halvern"  # type: ignore[union-attr]
    assert headline_history(store, sid)[-1]["reason"] == "pinned"


# -- sentences that stand alone -------------------------------------------------------------
from storyline.summarize.standalone import dangling, needs_antecedent  # noqa: E402


@pytest.mark.parametrize("sentence, expected", [
    ("She is due to be sworn in on April 1.", True),
    ("Her party also won 34 of the 60 seats.", True),
    ("The move follows Thursday's recall of 14 batches.", True),
    ("That brings the total to 26 million.", True),
    ('"Nobody crosses until it is safe," she said.', True),
    ('"We want a deal," said he.', True),
    ("He was 68.", True),
    ('"Nobody crosses until it is safe," said Mayor Anita Sorvell.', False),
    ("The move to cut rates was welcomed by retailers.", False),
    ("The order from Judge Carl Nichols allows downloads.", False),
    ("It is a truism that the valley is dry.", False),
    ("It was unclear whether the vote would pass.", False),
    ('"This is extraordinary," de Blasio said.', False),
    ("Those who voted early were counted first.", False),
    ("Theresa May resigned on Friday.", False),
    ("Italy won the final.", False),
    ("", False),
])
def test_needs_antecedent(sentence: str, expected: bool) -> None:
    assert needs_antecedent(sentence) is expected


def test_dangling_unless_right_after_its_antecedent() -> None:
    art = Article(id="x", title="Frane wins", text="Delia Frane won the race for governor on Wednesday. "
                  "She is due to be sworn in on April 1. Turnout reached 61.7 percent across Halvern.")
    lead, pronoun, turnout = ("Delia Frane won the race for governor on Wednesday.", "She is due to be sworn in on April 1.",
                              "Turnout reached 61.7 percent across Halvern.")
    assert dangling([(lead, 0), (pronoun, 0)], [art]) == [False, False]
    assert dangling([(pronoun, 0)], [art]) == [True]
    assert dangling([(lead, 0), (turnout, 0), (pronoun, 0)], [art]) == [False, False, True]


def test_summarizer_takes_a_leaning_sentence_with_its_antecedent_or_not_at_all(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On the demo's recall and election stories the summarizer without the rule quotes "The move
    follows ..." and "Her party also won ..." alone; with it, nothing dangles."""
    store = open_engine(Settings(data_dir=tmp_path))
    store.add_articles(read_paths([demo_corpus_path()]))
    off, on = LearnedSummarizer(standalone=False), default_summarizer()
    assert on.standalone is True  # type: ignore[attr-defined]
    found_without = 0
    for first in ("demo-029", "demo-019", "demo-001", "demo-050", "demo-090"):
        sid = store.story_of_article(demo_id(first))
        arts = store.story(sid).articles  # type: ignore[union-attr]
        for budget in (30, 50, 80):
            before = [(s.text, s.article) for s in off(arts, budget).sentences]
            found_without += sum(dangling(before, arts))
            after = [(s.text, s.article) for s in on(arts, budget).sentences]
            assert after and not any(dangling(after, arts)), (first, budget, after)
    assert found_without >= 2, "the demo has leaning sentences the rule must handle"
