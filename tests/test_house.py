"""House rules of the package, read from its source: no import circles, no module over 800 lines.

Imports are counted from the code itself (``ast``): every ``import`` and ``from ... import``,
including those inside functions and ``if TYPE_CHECKING:`` blocks. ``from . import x`` counts as
importing the package (its ``__init__``) as well as ``x``, so a package ``__init__`` that imports
a submodule which imports the package back is a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "storyline"
MAX_MODULE_LINES = 800


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``root`` (a package is its ``__init__``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` (file ``path``) imports anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in known and t != name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}, "f": {"a"}}
    assert sorted(circles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_import_reader_counts_relative_lazy_and_package_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import thing\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n")
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg", "pkg.a"}
    assert graph["pkg.c"] == {"pkg", "pkg.a"}
    assert circles(graph) == [["pkg", "pkg.a", "pkg.sub.b"]]


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "import circles (move the shared piece a floor down): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_no_module_over_800_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    too_long = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"


def test_stages_below_do_not_import_stages_above():
    """The layers of docs/architecture.md: the text stage and the scorers use no stage above them;
    the clusterer does not reach into the summarizer; stores import no engine code."""
    graph = import_graph()
    rules = {
        "storyline.text": ("storyline.ingest", "storyline.dedup", "storyline.cluster", "storyline.summarize",
                           "storyline.store", "storyline.web", "storyline.engine", "storyline.pipeline"),
        "storyline.scorers": ("storyline.cluster", "storyline.summarize", "storyline.store", "storyline.web"),
        "storyline.cluster": ("storyline.summarize", "storyline.web", "storyline.engine"),
        "storyline.ingest.base": ("storyline.ingest.files", "storyline.ingest.feeds", "storyline.ingest.pages",
                                  "storyline.ingest.warc", "storyline.ingest.opml"),
        "storyline.web.http": ("storyline.web.app", "storyline.web.api", "storyline.web.pages", "storyline.web.health"),
    }
    broken = []
    for low, above in rules.items():
        for name, targets in graph.items():
            if name == low or name.startswith(low + "."):
                broken += [f"{name} -> {t}" for t in targets if any(t == a or t.startswith(a + ".") for a in above)]
    assert not broken, broken


def test_standalone_headliner_makes_the_summarizers_choice():
    """The headliner gets word chances from the shared component, not by building a summarizer,
    and still picks what the summarizer's headline step picks."""
    from storyline.models import Article
    from storyline.summarize import LearnedHeadliner, LearnedSummarizer

    story = [
        Article(id="a", title="Floodwaters breach levee in river town", source="A",
                text="Floodwaters breached a levee on Sunday. Residents were evacuated from the river town."),
        Article(id="b", title="Residents flee as river levee fails", source="B",
                text="The levee failed after days of rain. Hundreds of residents fled to shelters."),
        Article(id="c", title="Levee breach forces evacuation", source="C",
                text="Officials ordered an evacuation after the levee breach. The river is still rising."),
        Article(id="d", title="", source="D", text="Rain kept falling as the river rose past the levee."),
    ]
    summary = LearnedSummarizer()(story)
    assert LearnedHeadliner()(story) == (summary.headline, summary.headline_article)
    assert summary.headline and summary.headline_article in (0, 1, 2)
    assert LearnedHeadliner()([]) == ("", None)


@pytest.mark.parametrize("name", ["storyline.cluster.stream", "storyline.summarize.headline", "storyline.web.api"])
def test_examples_of_fixed_circles_stay_fixed(name):
    graph = import_graph()
    back = {"storyline.cluster.stream": "storyline.summarize.scoring",
            "storyline.summarize.headline": "storyline.summarize.learned",
            "storyline.web.api": "storyline.web.app"}[name]
    assert back not in graph[name]


HEAVY = ("numpy", "scipy", "sklearn", "torch", "trafilatura", "feedparser", "lxml", "warcio", "datasketch", "fastapi",
         "uvicorn", "jinja2", "httpx", "storyline.pipeline", "storyline.engine", "storyline.cluster",
         "storyline.summarize", "storyline.ingest.files", "storyline.web")


@pytest.mark.parametrize("command", [["--help"], ["stories"], ["stories", "--json"]])
def test_cli_edge_imports_no_machinery(command, tmp_path):
    """The command line imports each command's machinery inside the command, so ``--help`` and
    ``stories`` load no parser, model or web framework (timings: benchmarks/startup.py)."""
    import subprocess
    import sys

    argv = ["storyline", *command] + (["--data-dir", str(tmp_path)] if command[0] == "stories" else [])
    code = (f"import runpy, sys\nsys.argv = {argv!r}\n"
            "try:\n    runpy.run_module('storyline', run_name='__main__', alter_sys=True)\nexcept SystemExit:\n    pass\n"
            f"heavy = {HEAVY!r}\n"
            "sys.stderr.write(repr(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent, env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin"})
    assert out.stderr.strip().splitlines()[-1].endswith("[]"), out.stderr[-2000:]
    assert "stories" in out.stdout + out.stderr[:-2], "the command did not run"  # usage, "no stories stored", or JSON


def test_lazy_package_names_still_resolve():
    import storyline
    import storyline.ingest

    assert storyline.read_paths is storyline.ingest.read_paths and callable(storyline.digest)
    assert storyline.Pipeline.__name__ == "Pipeline" and "READERS" in storyline.ingest.__all__
    assert ".jsonl" in storyline.ingest.READERS
    with pytest.raises(AttributeError):
        storyline.no_such_name  # noqa: B018


def test_one_tokenizer_two_explicit_cuts():
    """One tokenizer/stemmer set (storyline.text.tokens); the summary word models' ROUGE-style cut
    and stemmer are a parameter, not a second copy, and differ where they should."""
    from storyline.summarize.features import bag
    from storyline.summarize.words import tokens
    from storyline.text import content_words, stem, tokenize

    text = "The U.S. envoy's rock-and-roll talks: Café owners were running ties"
    assert tokenize(text) == ["the", "us", "envoy's", "rock-and-roll", "talks", "café", "owners", "were", "running",
                              "ties"]
    assert tokenize(text, rouge=True) == ["the", "u", "s", "envoy", "s", "rock", "and", "roll", "talks", "caf",
                                          "owners", "were", "running", "ties"]
    assert content_words(text, stemmed=True) == bag(text) == [
        "us", "envoy", "rock-and-roll", "talk", "café", "owner", "running", "tie"]
    assert tokens(text) == tokenize(text, rouge=True, stemmed=True)
    assert (stem("running"), stem("running", rouge=True)) == ("running", "runn")
    assert (stem("talked"), stem("talked", rouge=True)) == ("talked", "talk")
    assert (stem("bus"), stem("glass", rouge=True), stem("2024s", rouge=True)) == ("bus", "glass", "2024")


def test_one_title_trimmer_two_explicit_modes():
    from storyline.ingest.pages import strip_site_name
    from storyline.summarize.features import trim_title as summary_trim
    from storyline.text import trim_title

    assert summary_trim is trim_title
    # the site unknown: the outlet is guessed from the shape, never below four words
    assert trim_title("Harbour bridge to reopen - Coastal Times") == "Harbour bridge to reopen"
    assert trim_title("Bridge reopens - Coastal Times") == "Bridge reopens - Coastal Times"
    assert trim_title("Harbour bridge will reopen - Monday Update") == "Harbour bridge will reopen"
    # the site known: only a part naming it goes (a subtitle after a dash stays)
    site = ("Coastal Times", "https://coastal.example/x")
    assert trim_title("Bridge reopens - Coastal Times", site=site) == "Bridge reopens"
    assert trim_title("Harbour bridge will reopen - Monday Update", site=site) == "Harbour bridge will reopen - Monday Update"
    assert strip_site_name("Coastal Times | Bridge reopens", *site) == "Bridge reopens"
