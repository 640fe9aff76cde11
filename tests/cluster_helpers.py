"""Articles the clusterer tests share: two look-alike earthquakes reported three times each, and two
strays (tests/test_cluster.py, tests/test_cluster_features.py)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from storyline.models import Article

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)


REPORTS = {
    "quake0": [
        ("Quake kills 38 in Iran's Tabriz province",
         "A magnitude 6.4 earthquake struck East Azerbaijan province in northwestern Iran on Monday, killing at least "
         "38 people in villages near Tabriz, Iranian state television reported. The Red Crescent sent tents to Ahar."),
        ("Iran earthquake: Red Crescent shelters thousands near Ahar",
         "Iranian rescuers pulled survivors from mud-brick homes around Ahar and Varzaqan after Monday's 6.4 quake. "
         "The Red Crescent said it sheltered 16,000 people; the death toll in East Azerbaijan rose to 38."),
        ("Twin tremors hit northwest Iran, dozens dead",
         "Two strong tremors shook the Tabriz region of Iran, state media said, leaving 38 dead in villages around "
         "Varzaqan and Ahar. Governor of East Azerbaijan said aid reached most hamlets by nightfall."),
    ],
    "quake1": [
        ("Magnitude 8.2 quake off northern Chile triggers tsunami alert",
         "An 8.2 magnitude earthquake struck off the coast of northern Chile near Iquique on Tuesday night, killing six "
         "people and prompting a tsunami warning along the Pacific coast, President Michelle Bachelet said."),
        ("Chile quake: Iquique inmates escape as tsunami waves hit",
         "About 300 inmates escaped from a women's prison in Iquique after the 8.2 earthquake, and waves of two metres "
         "reached the Chilean port. Bachelet declared Tarapaca and Arica a disaster zone."),
        ("Bachelet visits Iquique after powerful Chilean earthquake",
         "Chilean President Michelle Bachelet toured Iquique and Arica on Wednesday after the magnitude 8.2 quake "
         "killed six people; the navy lifted the tsunami alert for the Pacific coast."),
    ],
}


STRAYS = [
    Article(id="stray-bakery", title="Village bakery wins regional sourdough prize", text="The Millbrook bakery took first place for its rye loaf at the county fair on Saturday."),
    Article(id="stray-dog", title="Lost terrier found after week in storm drain", text="Firefighters freed a small dog named Biscuit from a storm drain on Elm Street."),
]


def event_articles() -> list[Article]:
    """Two similar events (two earthquakes), three reports each, interleaved, plus two strays."""
    out = []
    for k in range(3):
        for e, name in enumerate(REPORTS):
            title, text = REPORTS[name][k]
            out.append(Article(id=f"{name}-{k}", title=title, text=text, source=f"outlet{k}", published=T0 + timedelta(hours=k + e)))
    out.insert(3, STRAYS[0])
    out.append(STRAYS[1])
    return out
