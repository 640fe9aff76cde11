"""Headline-only stories: many feeds carry titles alone. A story of them shows other outlets'
headlines where its summary would be, while the summary itself stays quoted sentences only (how
such items are grouped: tests/test_cluster.py)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import run_cli
from storyline.config import Settings
from storyline.engine import open_engine
from storyline.summarize.headlines import other_headlines
from storyline.web import create_app

QUAKE = [  # one event, four outlets, titles only, within an hour
    ("Magnitude 6.1 earthquake strikes off the Ostrand coast", "Coast Herald"),
    ("Ostrand coast shaken by 6.1 quake, no tsunami warning issued", "Valley Wire"),
    ("Strong earthquake rattles Ostrand coastal towns overnight", "Northern Times"),
    ("Quake of magnitude 6.1 hits near Ostrand, buildings damaged", "Ostrand Daily"),
]


def test_other_headlines_are_corroborated_distinct_and_one_per_outlet() -> None:
    reports = [
        ("Ostrand bridge closed after barge strikes pier", "A"),         # 0: the headline's own wording
        ("Barge strikes Ostrand bridge pier, bridge closed", "B"),       # 1: says the headline again
        ("Engineers inspect Ostrand bridge pier after barge collision", "C"),
        ("Ostrand bridge stays shut as engineers inspect damaged pier", "C"),  # 3: C's second title
        ("Barge collision: Ostrand commuters face long detours", "D"),
        ("Lantern regatta returns to Mirrow Lake", "E"),                 # 5: a stray, shares no word
        ("Commuters told to expect weeks of detours", "F"),              # 6: no word of the headline
    ]
    picks = other_headlines(reports, reports[0][0])
    assert 0 not in picks and 1 not in picks  # the headline and its near-copy
    assert 5 not in picks and 6 not in picks  # the stray, and a title about something else
    assert not {2, 3} <= set(picks)  # one title of outlet C
    assert picks and set(picks) <= {2, 3, 4}
    assert len({reports[i][1] for i in picks}) == len(picks)
    assert other_headlines(reports, reports[0][0], limit=1) == picks[:1]
    assert other_headlines([("Lone report", "A")], "Lone report") == []


def _quake_items(tmp_path: Path) -> Path:
    start = datetime(2026, 3, 19, 3, 0, tzinfo=UTC)
    lines = [{"id": f"q{i}", "title": t, "text": "", "source": o, "url": f"https://example.org/q{i}",
              "published": (start + timedelta(minutes=9 * i)).isoformat()} for i, (t, o) in enumerate(QUAKE)]
    lines.append({"id": "r1", "title": "Lantern regatta returns to Mirrow Lake", "source": "Lake Gazette",
                  "text": "Forty handmade boats will sail across Mirrow Lake after dark on Saturday, the organizers said. "
                          "The regatta began in 1987 and draws visitors from the whole valley.",
                  "published": start.isoformat()})
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_digest_shows_other_headlines_for_a_headline_only_story(tmp_path: Path) -> None:
    path = _quake_items(tmp_path)
    done = run_cli("digest", str(path), "--json")
    assert done.returncode == 0, done.stderr
    stories = json.loads(done.stdout)["stories"]
    quake = next(s for s in stories if any(a["id"].endswith("q0") for a in s["articles"]))
    assert quake["size"] == 4
    assert quake["summary"] == "" and quake["sentences"] == []  # the summary stays quoted sentences only
    titles = {a["title"]: a for a in quake["articles"]}
    assert 1 <= len(quake["headlines"]) <= 3
    for h in quake["headlines"]:
        assert h["text"] in titles and h["text"] != quake["headline"]
        assert quake["articles"][h["article"]]["title"] == h["text"] and h["url"] == titles[h["text"]]["url"]
    assert len({h["source"] for h in quake["headlines"]}) == len(quake["headlines"])
    regatta = next(s for s in stories if s is not quake)
    assert regatta["sentences"] and regatta["headlines"] == []
    text = run_cli("digest", str(path)).stdout
    assert "no sentence to quote; other headlines:" in text
    assert f"   - {quake['headlines'][0]['text']} ({quake['headlines'][0]['source']})" in text


def test_story_page_and_api_show_other_headlines(tmp_path: Path) -> None:
    from storyline.ingest import ReadReport, read_paths

    settings = Settings(data_dir=tmp_path / "data")
    engine = open_engine(settings)
    engine.add_articles(read_paths([_quake_items(tmp_path)], ReadReport()))
    with TestClient(create_app(settings, store=engine)) as client:
        stories = client.get("/api/stories").json()["stories"]
        quake = next(s for s in stories if s["reports"] == 4)
        data = client.get(f"/api/stories/{quake['id']}").json()
        assert data["headline_only"] is True and data["summary"]["sentences"] == []
        assert data["headlines"] and all(h["text"] in {t for t, _ in QUAKE} for h in data["headlines"])
        page = client.get(f"/stories/{quake['id']}").text
        assert "Its reports carry headlines only" in page and "no summary yet" not in page
        for h in data["headlines"]:
            assert h["text"] in page and f'href="#a-{h["article_id"]}"' in page
        feed = client.get("/feed.json").json()
        entry = next(i for i in feed["items"] if i["id"].endswith(quake["id"]) or quake["id"] in i.get("url", ""))
        assert data["headlines"][0]["text"] in entry["content_text"]
        regatta = next(s for s in stories if s["reports"] == 1)
        other = client.get(f"/api/stories/{regatta['id']}").json()
        assert other["headline_only"] is False and other["headlines"] == []
    engine.close()


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_the_limit_is_a_ceiling(limit: int) -> None:
    reports = [(t, o) for t, o in QUAKE]
    assert len(other_headlines(reports, reports[0][0], limit=limit)) <= limit
