import shutil
from pathlib import Path

from storyline.ingest import ReadReport, read_paths


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_plain_text_lines_become_items_and_short_unpunctuated_lines_headlines(tmp_path):
    f = write(tmp_path / "items.txt", "Bridge closed after ship strike\n\nThe span will stay shut for two weeks, officials said.\n")
    report = ReadReport()
    items = list(read_paths([f], report))
    assert [(a.title, a.text) for a in items] == [
        ("Bridge closed after ship strike", ""), ("", "The span will stay shut for two weeks, officials said."),
    ]
    assert items[0].origin.endswith("items.txt:1") and not report.errors


def test_jsonl_and_csv_with_missing_fields(tmp_path):
    j = write(tmp_path / "a.jsonl", '{"id": "x1", "title": "T", "text": "Body.", "published": "2026-03-10T08:00:00Z"}\n{"title": "Only title"}\n')
    c = write(tmp_path / "b.csv", "title,text,source\nCSV title,CSV body.,Harbor Ledger\n")
    items = list(read_paths([j, c]))
    assert items[0].id.startswith("a-") and items[0].id.endswith(":x1")  # the file's own id, under the file
    assert items[0].published.isoformat() == "2026-03-10T08:00:00+00:00"
    assert items[1].title == "Only title" and items[1].text == ""
    assert items[2].source == "Harbor Ledger"


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_is_read(tmp_path):
    j = write(tmp_path / "bad.jsonl", b'{"title": "good one"}\n{"title": broken\n[1, 2]\n{"title": "caf\xe9"}\n{"text": ""}\n{"title": "good two"}\n')
    report = ReadReport()
    items = list(read_paths([j], report))
    assert [a.title for a in items] == ["good one", "good two"]
    messages = [str(e) for e in report.errors]
    assert any("bad.jsonl:2" in m and "malformed JSON" in m for m in messages)
    assert any("bad.jsonl:3" in m and "expected a JSON object" in m for m in messages)
    assert any("bad.jsonl:4" in m and "UTF-8" in m for m in messages)
    assert any("bad.jsonl:5" in m and "neither a title nor a text" in m for m in messages)


def test_csv_row_with_wrong_field_count_is_reported(tmp_path):
    c = write(tmp_path / "rows.csv", "title,text\nFine,Row one.\nToo,many,fields\nAlso fine,Row three.\n")
    report = ReadReport()
    assert [a.title for a in read_paths([c], report)] == ["Fine", "Also fine"]
    assert "rows.csv:3" in str(report.errors[0]) and "number of fields" in str(report.errors[0])


def test_folders_are_read_recursively_and_missing_paths_reported(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "a.txt", "One headline here\n")
    write(tmp_path / "b.jsonl", '{"title": "Two"}\n')
    report = ReadReport()
    items = list(read_paths([tmp_path, tmp_path / "missing.txt"], report))
    assert sorted(a.title for a in items) == ["One headline here", "Two"]
    assert "no such file" in str(report.errors[0])


def test_json_file_reads_as_json_feed_or_json_lines(tmp_path):
    feed = write(tmp_path / "feed.json", '{"version": "https://jsonfeed.org/version/1.1", "title": "Harbor Ledger", '
                 '"items": [{"id": "1", "url": "https://harbor.example/a", "title": "Bridge reopens", '
                 '"content_text": "The bridge reopened on Friday."}]}')
    lines = write(tmp_path / "items.json", '{"title": "Line item"}\n')
    got = list(read_paths([feed, lines]))
    assert [(a.title, a.source) for a in got] == [("Bridge reopens", "Harbor Ledger"), ("Line item", "")]


def _install_copy(root: Path, corpus: Path) -> Path:
    """A copy of the demo corpus where a package installed under ``root`` would keep it."""
    package = root / "storyline"
    (package / "demo").mkdir(parents=True)
    shutil.copy(corpus, package / "demo" / "corpus.jsonl")
    return package


def test_a_file_that_ships_with_storyline_keeps_its_ids_wherever_storyline_is_installed(tmp_path, monkeypatch):
    """The demo corpus gives the same article ids from any install (a new virtualenv, another
    clone), named by its place in the package; a user's own file is named by its path, so two
    copies in two folders stay two files."""
    from storyline.cli import demo_corpus_path
    from storyline.ingest import boundary

    corpus = demo_corpus_path()
    shipped = [a.id for a in read_paths([corpus])]
    for place in ("venv-a", "venv-b"):
        package = _install_copy(tmp_path / place, corpus)
        monkeypatch.setattr(boundary, "_PACKAGE", package)
        assert [a.id for a in read_paths([package / "demo" / "corpus.jsonl"])] == shipped
    monkeypatch.undo()
    assert len(shipped) == len(set(shipped)) > 20
    copies = []
    for folder in ("mine", "yours"):
        (tmp_path / folder).mkdir()
        copies.append([a.id for a in read_paths([shutil.copy(corpus, tmp_path / folder / "corpus.jsonl")])])
    assert len(copies[0]) == len(shipped) and not set(copies[0]) & set(copies[1]) and not set(copies[0]) & set(shipped)


def test_the_demo_from_a_second_install_adds_nothing_to_the_same_store(tmp_path, monkeypatch):
    """Two installs in two places running the demo corpus into one data folder: the second
    finds every article stored already."""
    from storyline.config import Settings
    from storyline.cli import demo_corpus_path
    from storyline.engine import open_engine
    from storyline.ingest import boundary
    from storyline.service import ingest_sources

    engine = open_engine(Settings(data_dir=tmp_path / "data", workers=0))
    counts = []
    for place in ("venv-a", "venv-b"):
        package = _install_copy(tmp_path / place, demo_corpus_path())
        monkeypatch.setattr(boundary, "_PACKAGE", package)
        result = ingest_sources(engine, [str(package / "demo" / "corpus.jsonl")], engine.settings, ReadReport()).result
        counts.append((result.new, result.already_stored, engine.counts()["articles"]))
    (new, _, stored), second = counts
    assert new == stored > 20 and second == (0, stored, stored)
