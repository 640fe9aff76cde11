"""The source registry: validation, CSV round trip, OPML import, matching articles to outlets."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storyline import sources
from storyline.cli import demo_corpus_path
from storyline.config import Settings
from storyline.models import Article
from storyline.engine import open_engine
from storyline.store import open_store

ROOT = Path(__file__).parents[1]
DEMO_CSV = demo_corpus_path().with_name("sources.csv")
OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
<outline text="News"><outline type="rss" text="Valley Wire Service" xmlUrl="https://feeds.valleywire.example/rss"
 htmlUrl="https://www.valleywire.example/"/>
<outline type="rss" title="Quendale Bugle" xmlUrl="https://quendale-bugle.example/feed.xml"/></outline></body></opml>"""


def test_validate_normalizes_and_names_the_bad_field() -> None:
    o = sources.validate(sources.Outlet("  Valley   Wire ", ("https://www.ValleyWire.example/news", "valleywire.example"),
                                        kind="Wire", lean="Center-Left", language="en"))
    assert (o.name, o.domains, o.kind, o.lean) == ("Valley Wire", ("valleywire.example",), "wire", "centre-left")
    for bad, field in [(sources.Outlet(""), "name"), (sources.Outlet("X", kind="tabloid"), "kind"),
                       (sources.Outlet("X", lean="far"), "lean"), (sources.Outlet("X", language="English"), "language"),
                       (sources.Outlet("X", domains=("not a domain",)), "domain")]:
        with pytest.raises(sources.SourceError, match=field):
            sources.validate(bad)


def test_csv_round_trip(tmp_path: Path) -> None:
    outlets, errors = sources.read_csv(DEMO_CSV.read_text(encoding="utf-8"))
    assert not errors and len(outlets) == 11
    assert sources.read_csv(sources.to_csv(outlets)) == (outlets, [])
    store = open_store(Settings(data_dir=tmp_path))
    assert sources.import_file(store, DEMO_CSV) == (11, 0, [])
    assert sources.list_outlets(store) == sorted(outlets, key=lambda o: o.name.lower())
    exported = tmp_path / "out.csv"
    exported.write_text(sources.to_csv(sources.list_outlets(store)), encoding="utf-8")
    other = open_store(Settings(data_dir=tmp_path / "other"))
    sources.import_file(other, exported)
    assert sources.list_outlets(other) == sources.list_outlets(store)
    assert sources.import_file(store, exported) == (0, 0, [])  # nothing changes on a second import


def test_bad_rows_are_named_and_the_rest_imported(tmp_path: Path) -> None:
    bad = tmp_path / "reg.csv"
    bad.write_text("name,kind,lean\nGood One,local,\nBad One,tabloid,\n,local,\nAlso Good,wire,right\n"
                   "Comma, Inc,local,left\n", encoding="utf-8")
    store = open_store(Settings(data_dir=tmp_path))
    added, updated, errors = sources.import_file(store, bad)
    assert (added, updated) == (2, 0)
    assert [e.split(": ", 1)[0].rsplit(":", 1)[1] for e in errors] == ["3", "4", "6"]
    assert "tabloid" in errors[0] and "name" in errors[1] and "more fields" in errors[2]
    with pytest.raises(sources.SourceError, match="columns"):
        sources.read_csv("title,kind\nx,local\n")
    with pytest.raises(sources.SourceError, match="cannot read"):
        sources.import_file(store, tmp_path / "missing.csv")


def test_opml_fills_the_registry_and_keeps_what_was_filled_in(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    sources.add_outlet(store, sources.Outlet("Valley Wire Service", kind="wire", country="Halvern"))
    path = tmp_path / "feeds.opml"
    path.write_bytes(OPML)
    assert sources.import_file(store, path)[:2] == (1, 1)
    wire = sources.get_outlet(store, "valley wire service")
    assert wire is not None and wire.kind == "wire" and wire.country == "Halvern"
    assert set(wire.domains) == {"valleywire.example", "feeds.valleywire.example"}
    bugle = sources.get_outlet(store, "Quendale Bugle")
    assert bugle is not None and bugle.domains == ("quendale-bugle.example",) and "feeds.opml" in bugle.note


def test_resolve_by_name_or_domain(tmp_path: Path) -> None:
    store = open_engine(Settings(data_dir=tmp_path))
    text = "The Quendale ferry will leave every forty minutes from Monday, the operator said."
    store.add_articles([
        Article(id="a", title="Ferry times", text=text, source="VALLEY WIRE SERVICE", url="https://x.example/a"),
        Article(id="b", title="Ferry timetable", text=text + " More.", source="Bugle Online",
                url="https://news.quendale-bugle.example/b"),
        Article(id="c", title="Other", text="Nothing else happened in Quendale on Monday at all today.", source="Nobody",
                url="https://nobody.example/c"),
    ])
    sources.add_outlet(store, sources.Outlet("Valley Wire Service"))
    sources.add_outlet(store, sources.Outlet("Quendale Bugle", ("quendale-bugle.example",)))
    found = {k: v.name for k, v in sources.resolve(store).items()}
    assert found == {"VALLEY WIRE SERVICE": "Valley Wire Service", "Bugle Online": "Quendale Bugle"}


def test_edit_rename_and_conflicts(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    sources.add_outlet(store, sources.Outlet("A Daily"))
    sources.add_outlet(store, sources.Outlet("B Weekly"))
    with pytest.raises(sources.SourceError, match="already registered"):
        sources.add_outlet(store, sources.Outlet("a daily"))
    before, after = sources.edit_outlet(store, "A Daily", {"name": "A Times", "kind": "national"})
    assert (before.name, after.name, after.kind) == ("A Daily", "A Times", "national")
    with pytest.raises(sources.SourceError, match="registered"):
        sources.edit_outlet(store, "A Times", {"name": "B Weekly"})
    with pytest.raises(sources.SourceError) as missing:
        sources.edit_outlet(store, "Nope", {"kind": "local"})
    assert missing.value.not_found


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "storyline", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_round_trip(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert _cli("sources", "import", str(DEMO_CSV), "--data-dir", data).returncode == 0
    add = _cli("sources", "add", "Quendale Bugle", "--domain", "quendale-bugle.example", "--kind", "blog",
               "--country", "GB", "--note", "their about page", "--data-dir", data)
    assert add.returncode == 0, add.stderr
    edit = _cli("sources", "edit", "Quendale Bugle", "--lean", "centre", "--data-dir", data)
    assert edit.returncode == 0, edit.stderr
    bad = _cli("sources", "add", "X", "--kind", "tabloid", "--data-dir", data)
    assert bad.returncode != 0 and "tabloid" in bad.stderr
    exported = _cli("sources", "list", "--format", "csv", "--data-dir", data).stdout
    (tmp_path / "reg.csv").write_text(exported, encoding="utf-8")
    again = str(tmp_path / "e")
    assert _cli("sources", "import", str(tmp_path / "reg.csv"), "--data-dir", again).returncode == 0
    assert _cli("sources", "list", "--format", "csv", "--data-dir", again).stdout == exported
    assert "Quendale Bugle,quendale-bugle.example,GB,,blog,centre,their about page" in exported
