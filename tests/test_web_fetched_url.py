"""Every article keeps the address it was fetched or archived under (``fetched_url``) beside its
canonical ``url``: for WARC records, the WARC-Target-URI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest_helpers import write_warc

ROOT = Path(__file__).parents[1]

PAGE = """<!doctype html><html><head><title>{title}</title>
<link rel="canonical" href="https://www.canonical-news.example/story/{n}">
<meta property="og:site_name" content="Canonical News"></head><body><article><h1>{title}</h1>
<p>The Quendale harbour authority said on Monday that the ferry terminal number {n} will close for repairs
for three weeks from the start of next month, after engineers found corrosion in the landing stage.</p>
<p>Passengers will be carried by a temporary pontoon at the north quay, and timetables will not change,
a spokeswoman for the authority said. The repairs are expected to cost about 2.4 million.</p>
<p>Local businesses near the terminal said they were worried about losing trade during the works, but
welcomed the decision to keep the timetable unchanged throughout the closure.</p></article></body></html>"""


def test_export_of_a_warc_gives_each_records_target_uri(tmp_path: Path) -> None:
    uris = [f"https://mirror{n}.archive-host.example/cc/2024/05/page-{n}?utm=x" for n in range(3)]
    pages = [(uri, PAGE.format(title=f"Quendale ferry terminal {n} to close for repairs", n=n).encode()) for n, uri in
             enumerate(uris)]
    warc = tmp_path / "news.warc.gz"
    write_warc(warc, pages)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    data = str(tmp_path / "d")
    run = subprocess.run([sys.executable, "-m", "storyline", "ingest", str(warc), "--data-dir", data],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    out = subprocess.run([sys.executable, "-m", "storyline", "export", "articles", "--data-dir", data],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert sorted(r["fetched_url"] for r in rows) == sorted(uris)
    for row in rows:
        assert row["url"].startswith("https://www.canonical-news.example/story/"), row["url"]
        n = row["url"].rsplit("/", 1)[1]
        assert row["fetched_url"] == uris[int(n)]


def test_other_articles_keep_their_url_as_fetched_url(tmp_path: Path) -> None:
    from storyline.config import Settings
    from storyline.models import Article
    from storyline.engine import open_engine

    store = open_engine(Settings(data_dir=tmp_path))
    store.add_articles([Article(id="a", title="Ferry", text="The ferry runs again from Monday, the operator said.",
                                url="https://x.example/a")])
    assert next(store.iter_articles())["fetched_url"] == "https://x.example/a"
