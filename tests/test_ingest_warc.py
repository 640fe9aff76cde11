"""WARC reading: an archive written at test time from the 149 real pages, the real Common Crawl
record, warcio's malformed fixtures, corruption in the middle of a file, and resuming."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest_helpers import DATA, data_path, needs_data, news_pages, page_url, write_warc
from storyline.ingest import ReadReport, read_paths
from storyline.ingest.pages import extract_article
from storyline.ingest.warc import WarcProgress, iter_warc

FIXTURES = DATA / "warc" / "warcio-testdata"


@pytest.fixture(scope="module")
def pages() -> list[dict]:
    if not (DATA / "html" / "trafilatura-news").is_dir():
        pytest.skip(f"shared test data not found at {DATA}")
    return news_pages()


@pytest.fixture(scope="module")
def news_warc(pages, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("warc") / "cc-news-test.warc.gz"
    write_warc(path, [(page_url(row), row["html"]) for row in pages])
    return path


@needs_data
def test_every_page_of_the_written_warc_becomes_one_article(pages, news_warc):
    report, progress = ReadReport(), WarcProgress()
    items = list(iter_warc(news_warc, report=report, progress=progress))
    assert report.errors == []
    assert len(items) == progress.articles == progress.pages == len(pages) == 149
    by_url = {a.url: a for a, _ in items}
    offsets = [o for _, o in items]
    assert offsets == sorted(offsets) and len(set(offsets)) == 149
    assert len({a.id for a, _ in items}) == 149
    for row in pages[:25]:  # the archive path extracts exactly what the page path extracts
        direct = extract_article(row["html"], url=page_url(row))
        article = next(a for a, _ in items if a.origin.endswith(f"#{_offset_of(items, a)}") and a.text == direct.text)
        assert article.title == direct.title
    first, _ = items[0]
    assert first.fetched_at == datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert first.origin.startswith(str(news_warc) + "#")
    assert by_url  # canonical URLs (or the target URI) for every article


def _offset_of(items, article) -> str:
    return article.origin.rsplit("#", 1)[1]


@needs_data
@pytest.mark.parametrize("gzip", [True, False])
def test_resume_from_a_checkpoint(pages, tmp_path, gzip):
    path = tmp_path / ("small.warc.gz" if gzip else "small.warc")
    write_warc(path, [(page_url(row), row["html"]) for row in pages[:12]], gzip=gzip)
    everything = list(iter_warc(path))
    assert len(everything) == 12
    first_part = []
    for article, resume in iter_warc(path):
        first_part.append(article.id)
        if len(first_part) == 5:
            checkpoint = resume
            break
    resumed = list(iter_warc(path, start_offset=checkpoint))
    assert first_part + [a.id for a, _ in resumed] == [a.id for a, _ in everything]
    assert [(a.origin, o) for a, o in resumed] == [(a.origin, o) for a, o in everything[5:]]  # same offsets
    assert list(iter_warc(path, start_offset=everything[-1][1])) == []  # a finished file yields nothing


@needs_data
def test_uncompressed_warc_and_read_paths(pages, tmp_path):
    path = tmp_path / "plain.warc"
    write_warc(path, [(page_url(row), row["html"]) for row in pages[:3]], gzip=False)
    report = ReadReport()
    articles = list(read_paths([path], report))
    assert len(articles) == 3 and report.errors == []


@needs_data
@pytest.mark.parametrize("gzip", [True, False])
def test_corruption_mid_file_reports_one_error_and_continues(pages, tmp_path, gzip):
    good = tmp_path / ("good.warc.gz" if gzip else "good.warc")
    write_warc(good, [(page_url(row), row["html"]) for row in pages[:6]], gzip=gzip)
    items = list(iter_warc(good))
    data = good.read_bytes()
    cut = items[2][1]  # garbage after the third article's record
    broken = tmp_path / ("broken.warc.gz" if gzip else "broken.warc")
    broken.write_bytes(data[:cut] + b"THIS IS NOT A WARC RECORD\r\n" * 20 + data[cut:])
    report = ReadReport()
    again = list(iter_warc(broken, report=report))
    assert len(report.errors) == 1 and "skipped to the next record" in report.errors[0].reason
    where, offset = report.errors[0].where.rsplit("#", 1)
    assert where == str(broken) and cut <= int(offset) < cut + 27 * 20  # within the stray bytes
    assert [a.title for a, _ in again] == [a.title for a, _ in items]


@needs_data
def test_truncated_file_keeps_what_was_read(pages, tmp_path):
    good = tmp_path / "t.warc.gz"
    write_warc(good, [(page_url(row), row["html"]) for row in pages[:4]])
    items = list(iter_warc(good))
    truncated = tmp_path / "truncated.warc.gz"
    truncated.write_bytes(good.read_bytes()[: items[2][1] + 300])  # mid-way through the fourth page
    report = ReadReport()
    got = list(iter_warc(truncated, report=report))
    assert [a.id for a, _ in got] == [a.id for a, _ in items[:3]]
    assert len(report.errors) == 1


@needs_data
@pytest.mark.parametrize("name", ["whirlwind.warc", "whirlwind.warc.gz"])
def test_real_common_crawl_record(name):
    path = data_path("warc", "commoncrawl-whirlwind", name)
    report = ReadReport()
    items = list(iter_warc(path, report=report))
    assert report.errors == [] and len(items) == 1
    article, _ = items[0]
    assert article.url == "https://an.wikipedia.org/wiki/Escopete"
    assert article.fetched_at == datetime(2024, 5, 18, 1, 58, 10, tzinfo=timezone.utc)
    assert "Escopete" in article.title and "Guadalachara" in article.text
    assert article.origin.startswith(str(path) + "#")


@needs_data
def test_wat_and_wet_files_hold_no_pages():
    for name in ("whirlwind.warc.wat.gz", "whirlwind.warc.wet.gz"):
        report = ReadReport()
        assert list(iter_warc(data_path("warc", "commoncrawl-whirlwind", name), report=report)) == []
        assert report.errors == []


EXPECTED_FIXTURES = {  # file: (articles, errors, text in the error)
    "example.warc": (1, 0, ""),
    "example.warc.gz": (1, 0, ""),
    "example.arc": (1, 0, ""),
    "example.arc.gz": (1, 0, ""),
    "example-iana.org-chunked.warc": (1, 0, ""),
    "example-resource.warc.gz": (1, 0, ""),
    "example-wget-bad-target-uri.warc.gz": (1, 0, ""),
    "example-space-in-url.arc": (1, 0, ""),
    "example-space-in-target-uri.warc.gz": (0, 0, ""),
    "example-digest.warc": (0, 0, ""),
    "post-test.warc.gz": (0, 0, ""),
    "bad.arc": (0, 0, ""),
    "example-trunc.warc": (0, 1, "truncated"),
    "example-bad-non-chunked.warc.gz": (0, 1, "warcio recompress"),
    "example-bad.warc.gz.bad": (0, 1, "warcio recompress"),
    "example-wrong-chunks.warc.gz": (0, None, "skipped to the next record"),
}


@needs_data
@pytest.mark.parametrize("name", sorted(EXPECTED_FIXTURES))
def test_warcio_fixtures(name):
    articles, errors, message = EXPECTED_FIXTURES[name]
    report = ReadReport()
    items = list(iter_warc(data_path("warc", "warcio-testdata", name), report=report))
    assert len(items) == articles
    if errors is None:
        assert report.errors
    else:
        assert len(report.errors) == errors
    if message:
        assert any(message in e.reason for e in report.errors)
    for error in report.errors:
        assert name in error.where and "#" in error.where


@needs_data
def test_fixture_folder_through_read_paths():
    report = ReadReport()
    articles = list(read_paths([FIXTURES], report))  # .warc/.warc.gz only; .arc and .bad are not listed
    assert len(articles) == 5
    assert len(report.errors) >= 3  # trunc, non-chunked, wrong-chunks (at least one each)
