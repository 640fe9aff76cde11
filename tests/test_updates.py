"""Update summaries: only real, attributed sentences of later reports that the earlier ones did not say."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storyline.follow import SinceError, parse_since
from storyline.models import Article
from storyline.summarize import LeadSummarizer, default_summarizer
from storyline.summarize.updates import Known, new_sentences, update_summary

T0 = datetime(2026, 3, 11, 22, 0, tzinfo=UTC)

PARTIAL = Article(
    id="a1", source="Metro Signal", published=T0, title="Frane leads Brannigan as count passes 70 percent",
    text="Delia Frane held a lead over Governor Otto Brannigan with 70 percent of the ballots counted. "
         "Frane had 51 percent of the vote and Brannigan 45 percent. Turnout was reported as high across the province.")
RESULT = Article(
    id="a2", source="Valley Wire Service", published=T0 + timedelta(hours=2),
    title="Frane wins governor race, ending Brannigan's tenure",
    text="Delia Frane won the race for governor on Wednesday, defeating Governor Otto Brannigan. "
         "Frane held a lead over Governor Otto Brannigan with 70 percent of the ballots counted. "
         "Overall, Frane received 52.4 percent of the vote and Brannigan 44.1 percent. "
         "She is due to be sworn in on April 1 at the provincial assembly.")


def test_a_restated_sentence_is_known_and_a_new_fact_is_new() -> None:
    known = Known.of([PARTIAL])
    assert not known.is_new("Frane held a lead over Governor Otto Brannigan with 70 percent of the ballots counted.")
    assert not known.is_new("Turnout was high across the province.")
    assert known.is_new("Overall, Frane received 52.4 percent of the vote and Brannigan 44.1 percent.")
    assert known.is_new("Delia Frane won the race for governor on Wednesday, defeating Governor Otto Brannigan.")
    assert not known.is_new("")


def test_new_sentences_keep_reading_order_per_article() -> None:
    fresh = new_sentences([PARTIAL], [RESULT])
    assert fresh == [[
        "Delia Frane won the race for governor on Wednesday, defeating Governor Otto Brannigan.",
        "Overall, Frane received 52.4 percent of the vote and Brannigan 44.1 percent.",
        "She is due to be sworn in on April 1 at the provincial assembly.",
    ]]


@pytest.mark.parametrize("summarizer", [LeadSummarizer(), default_summarizer()], ids=["lead", "learned"])
def test_update_is_real_attributed_sentences_with_nothing_known(summarizer: object) -> None:
    update = update_summary([PARTIAL], [RESULT], summarizer, max_words=40)  # type: ignore[arg-type]
    assert update.summary.sentences, "the result report brings news"
    known = Known.of([PARTIAL])
    for s in update.summary.sentences:
        assert s.text in RESULT.text, "a real sentence of the later report"
        assert (s.article_id, s.source) == ("a2", "Valley Wire Service")
        assert known.is_new(s.text)
    assert "70 percent of the ballots" not in update.summary.text
    assert sum(len(s.text.split()) for s in update.summary.sentences) <= 40


def test_no_update_when_the_later_report_only_repeats() -> None:
    copy = Article(id="a3", source="Coastline Daily", published=T0 + timedelta(hours=3), title=PARTIAL.title,
                   text=PARTIAL.text)
    update = update_summary([PARTIAL], [copy], default_summarizer())
    assert update.summary.sentences == [] and update.candidates == 0
    assert update_summary([PARTIAL], [], default_summarizer()).summary.sentences == []


def test_with_nothing_known_the_update_is_a_summary_of_the_reports() -> None:
    update = update_summary([], [PARTIAL, RESULT], default_summarizer())
    assert update.summary.sentences and update.summary.headline
    assert {s.article_id for s in update.summary.sentences} <= {"a1", "a2"}


def test_parse_since() -> None:
    assert parse_since("2026-03-11T09:00:00Z") == datetime(2026, 3, 11, 9, tzinfo=UTC)
    assert parse_since("2026-03-11T09:00:00+02:00") == datetime(2026, 3, 11, 7, tzinfo=UTC)
    end_of_day = parse_since("2026-03-11")
    assert datetime(2026, 3, 11, 23, 59, 59, tzinfo=UTC) < end_of_day < datetime(2026, 3, 12, tzinfo=UTC)
    for bad in ("", "yesterday", "12345", "2026-13-45"):
        with pytest.raises(SinceError, match="not a date or time"):
            parse_since(bad)
