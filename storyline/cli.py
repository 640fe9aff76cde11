"""Command-line interface: parse arguments -> Settings -> one library call per command.

Only the standard library, settings and errors are imported here at the start: each command
imports its machinery (readers, engine, store, models, web) inside its function, so
``storyline --help`` and light commands do not pay for the heavy ones.
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .config import Settings, one_blas_thread
from .errors import InputError, StorylineError
from .process import collecting_less, end_at_once

if TYPE_CHECKING:
    from .ingest.base import ReadReport
    from .models import Article

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _warn(message: str) -> None:
    print(f"storyline: {message}", file=sys.stderr)


def _report_errors(report: ReadReport) -> None:
    for err in report.errors:
        _warn(f"warning: {err}")
    notes = getattr(report, "warnings", [])  # values changed or dropped at the ingest boundary
    for note in notes[:200]:
        _warn(f"note: {note}")
    if len(notes) > 200:
        _warn(f"note: ... and {len(notes) - 200} more notes like these")


def _exit_status(report: ReadReport, strict: bool, *, produced: int) -> int:
    if produced == 0 and report.errors:
        _warn("error: nothing could be read")
        return EXIT_FAILED
    if strict and report.errors:
        _warn(f"error: {len(report.errors)} problem(s) and --strict was given")
        return EXIT_FAILED
    return EXIT_OK


class _Stages:
    """What :func:`progress` yields: ``advance(n)`` counts n more done; ``advance.phase(label,
    total)`` starts the next stage of the same work on a line of its own (an ingest's
    consolidation, summaries and related lists: most of an hour at 1M articles)."""

    def __init__(self, bar: Any = None, label: str = "", total: int | None = None) -> None:
        self.bar = bar
        self.task = bar.add_task(label, total=total) if bar is not None else None

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def phase(self, label: str, total: int | None = None) -> None:
        if self.bar is not None:
            self.bar.stop_task(self.task)
            self.task = self.bar.add_task(label, total=total)


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[_Stages]:
    """A progress bar on an interactive terminal; silence when output is piped."""
    if not sys.stderr.isatty():
        yield _Stages()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class Count(MofNCompleteColumn):  # nothing for a stage that counts nothing ("0/?")
        def render(self, task: Any) -> Text:
            return Text("") if task.total is None and not task.completed else super().render(task)

    with Progress(TextColumn("{task.description}"), BarColumn(), Count(), TimeElapsedColumn(), transient=True) as bar:
        yield _Stages(bar, label, total)


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if not path or path == "-":
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as fh:
        yield fh


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        strict=getattr(args, "strict", None),
        max_words=getattr(args, "max_words", None),
        allow_private_network=getattr(args, "allow_private_network", None) or None,
        fetch_pages=False if getattr(args, "no_fetch_pages", False) else None,
        database_url=getattr(args, "database_url", None) or None,
    )


# -- commands -------------------------------------------------------------------------------
def cmd_digest(args: argparse.Namespace) -> int:
    from .ingest import ReadReport, read_paths
    from .output import stories_text, story_json
    from .pipeline import digest

    settings = _settings(args)
    report = ReadReport()
    articles = list(read_paths(args.paths, report))
    _report_errors(report)
    stories = digest(articles, settings) if articles else []
    if args.json:
        json.dump({"stories": [story_json(s) for s in stories]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(stories_text(stories, limit=args.limit))
    return _exit_status(report, settings.strict, produced=len(articles))


def _read_jsonl_records(path: str, report: ReadReport) -> Iterator[tuple[str, dict[str, Any]]]:
    from .ingest.files import decode_lines, json_records

    try:
        source: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder; give a JSONL file (or - for stdin)") from None
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    with source:
        for number, record in json_records(decode_lines(source, path, report), path, report):
            yield f"{path}:{number}", record


def cmd_cluster(args: argparse.Namespace) -> int:
    from .ingest import ReadReport
    from .ingest.files import article_from_record
    from .pipeline import Pipeline, arrival_order

    settings = _settings(args)
    report = ReadReport()
    articles: list[Article] = []
    for number, (where, record) in enumerate(_read_jsonl_records(args.input, report), start=1):
        try:
            articles.append(article_from_record(record, item_id=str(record.get("id", number)), origin=where))
        except ValueError as exc:
            report.error(where, str(exc))
    _report_errors(report)
    pipe = Pipeline(settings)
    ordered = arrival_order(articles)
    with progress("clustering", len(ordered)) as advance:
        pipe.add_all(ordered, progress=advance)
    pipe.finish()
    with _output(args.output) as out:
        for art in articles:
            out.write(json.dumps({"id": art.id, "story": pipe.story_id(art.id)}) + "\n")
    return _exit_status(report, settings.strict, produced=len(articles))


def cmd_summarize(args: argparse.Namespace) -> int:
    from .ingest import ReadReport
    from .summarize import default_summarizer
    from .summarize.base import story_articles

    settings = _settings(args)
    summarizer = default_summarizer()
    report = ReadReport()
    done = 0
    with _output(args.output) as out:
        for where, record in _read_jsonl_records(args.input, report):
            raw = record.get("articles")
            if not isinstance(raw, list):
                report.error(where, "story has no 'articles' list")
                continue
            summary = summarizer(story_articles(record), settings.max_words)
            out.write(json.dumps({
                "id": record.get("id", where), "headline": summary.headline, "summary": summary.text,
                "sentences": [{"text": s.text, "article": s.article} for s in summary.sentences],
                "summarizer": summary.summarizer,
            }, ensure_ascii=False) + "\n")
            done += 1
    _report_errors(report)
    return _exit_status(report, settings.strict, produced=done)


def _ingest(store: Any, sources: Sequence[str], settings: Settings) -> tuple[ReadReport, Any]:
    from .ingest import ReadReport
    from .service import ingest_sources

    report = ReadReport()
    with progress("ingesting") as advance:
        summary = ingest_sources(store, sources, settings, report, advance)
    _report_errors(report)
    return report, summary


def cmd_ingest(args: argparse.Namespace) -> int:
    from .text.language import preload

    preload()  # the language model loads while the engine is imported and the store opened
    from .engine import open_engine

    settings = _settings(args)
    store = open_engine(settings, command="storyline ingest")
    store.check_state()
    # the collector's ingest setting until the command's end: past it the whole heap is collectable again
    with collecting_less():
        report, summary = _ingest(store, args.sources, settings)
        result, counts = summary.result, store.counts()
        extra = f"; {summary.feeds_subscribed} feed(s) read" if summary.feeds_subscribed else ""
        if summary.warc_skipped:
            extra += f"; {len(summary.warc_skipped)} archive(s) already done, skipped"
        _warn(
            f"read {result.seen} item(s): {result.new} new ({result.reprints} reprints), "
            f"{result.already_stored} already stored{extra}; {len(report.errors)} problem(s); "
            f"the store holds {counts['articles']} articles in {counts['stories']} stories ({store.where})"
        )
        store.close()
        args.end_at_once = store  # its heap (the clusterer's state) is left to the process's end: end_at_once
        if report.errors and result.seen == 0 and not summary.warc_skipped:
            _warn("error: nothing could be read")
            return EXIT_FAILED
        if report.errors:
            return EXIT_FAILED if settings.strict else EXIT_PARTIAL
        return EXIT_OK


def _when(dt: Any) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "never"


def cmd_feeds(args: argparse.Namespace) -> int:
    from .store import open_store

    from .ingest import subscriptions

    store = open_store(_settings(args))
    if args.action == "add":
        settings, added, refused = _settings(args), 0, 0
        for url in args.urls:
            try:  # the same checks (scheme, host, network policy) and messages as fetching later
                note = subscriptions.check_address(url, allow_private=settings.allow_private_network)
            except InputError as exc:
                _warn(f"error: {exc}; not subscribed")
                refused += 1
                continue
            if note:
                _warn(f"warning: {url}: {note}; subscribed anyway, it is checked again before every fetch")
            subscriptions.subscribe(store, url, interval_s=args.interval * 60 if args.interval else None)
            added += 1
        _warn(f"subscribed {added} feed(s); `storyline watch` polls them" + (f"; {refused} refused" if refused else ""))
        return EXIT_FAILED if refused else EXIT_OK
    if args.action == "remove":
        from .engine import Engine

        engine = Engine(store, _settings(args), command="storyline feeds remove")
        return _remove_feeds(engine, args.urls, drop_articles=args.drop_articles, reason=args.reason)
    feeds = store.list_feeds()
    if args.json:
        json.dump({"feeds": [subscriptions.to_dict(f) for f in feeds]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not feeds:
        _warn("no feeds subscribed; `storyline feeds add URL` or `storyline ingest FEED_URL|OPML`")
    for f in feeds:
        print(f"{f.url}\n    {f.title or '(untitled)'} | last success {_when(f.last_success_at)} | "
              f"next poll {_when(f.next_poll_at)} | {f.entries_seen} articles | {subscriptions.health(f)}")
    return EXIT_OK


def _remove_feeds(store: Any, urls: Sequence[str], *, drop_articles: bool, reason: str | None) -> int:
    """Unsubscribe ``urls``; with ``drop_articles`` also forget the articles read from them."""
    from .maintenance import forget

    missing = [u for u in urls if store.get_feed(u) is None]
    for url in missing:
        _warn(f"warning: {url} is not subscribed")
    present = [u for u in urls if u not in missing]
    if drop_articles and present:
        report = forget(store, feeds=present, reason=reason or "feed removed with --drop-articles")
        _warn(f"forgot {len(report.removed)} article(s) read from {len(present)} feed(s); "
              f"{len(report.stories_recomputed)} story(ies) recomputed, {len(report.stories_emptied)} emptied")
    from .ingest.subscriptions import unsubscribe

    for url in present:
        unsubscribe(store, url)
    if present:
        kept = "" if drop_articles else "; their articles stay (`--drop-articles` removes them)"
        _warn(f"unsubscribed {len(present)} feed(s){kept}")
    return EXIT_FAILED if missing else EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from .maintenance import backup

    report = backup(_settings(args), Path(args.path), force=args.force)
    if args.json:
        print(json.dumps(report.to_dict()))
    _warn(f"backed up {report.articles} articles in {report.stories} stories to {report.path} "
          f"({report.bytes / 1e6:.1f} MB, integrity {report.integrity}, story list sha256 {report.story_list_sha256[:16]})")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from .maintenance import restore

    settings = _settings(args)
    report = restore(settings, Path(args.path), force=args.force)
    if args.json:
        print(json.dumps(report.to_dict()))
    _warn(f"restored {report.articles} articles in {report.stories} stories into {settings.sqlite_path} "
          f"(integrity {report.integrity}, schema {report.schema_version}, story list sha256 {report.story_list_sha256[:16]})")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from .engine import open_engine
    from .maintenance import forget

    store = open_engine(_settings(args), command="storyline forget")
    if args.log:
        json.dump({"removals": store.removal_log(limit=args.limit)}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    report = forget(store, ids=args.id, outlets=args.outlet, feeds=args.feed, reason=args.reason or "",
                    dry_run=args.dry_run)
    for what in report.not_found:
        _warn(f"warning: no stored article matches {what}")
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    verb = "would forget" if args.dry_run else "forgot"
    _warn(f"{verb} {len(report.removed)} article(s); {len(report.stories_recomputed)} story(ies) recomputed, "
          f"{len(report.stories_emptied)} left empty and gone"
          + (f"; {len(report.new_originals)} copy(ies) from other outlets now stand as originals" if report.new_originals else ""))
    return EXIT_OK if report.removed else EXIT_FAILED


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .engine import open_engine
    from .ingest.watch import Watcher
    from .run import Poller, WatchedStore

    settings = _settings(args)
    store = open_engine(settings, command="storyline watch")
    store.check_state()
    if not store.list_feeds():
        _warn("no feeds subscribed; `storyline feeds add URL` or `storyline ingest OPML` first")
        return EXIT_FAILED
    if args.once:
        watcher = Watcher(WatchedStore(store, command="storyline watch"), settings, fetch_pages=settings.fetch_pages)
        try:
            report = watcher.poll_once()
        finally:
            watcher.close()
        for poll in report.feeds:
            _warn(f"{poll.status}: {poll.url} ({poll.new_articles} new)" + (f" — {poll.error}" if poll.error else ""))
        return EXIT_OK if report.ok else EXIT_FAILED
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _warn(f"watching {len(store.list_feeds())} feed(s); Ctrl-C to stop")
    poller = Poller(store, settings, stop)  # the same supervised loop as `storyline run`, without the web server
    try:
        poller.run()
    finally:
        poller.close()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from .run import Service

    settings = _settings(args)
    if args.base_url:
        settings = settings.with_(base_url=args.base_url)
    if args.trusted_proxies:
        settings = settings.with_(trusted_proxies=args.trusted_proxies)
    return Service(settings, host=args.host, port=args.port, max_sleep_s=args.max_sleep).run()


def _stories_since(store: Any, since_text: str, as_json: bool, limit: int) -> int:
    """`storyline stories --since T`: the stories with reports first seen after T, and their updates."""
    from . import follow
    from .store import queries
    from .view import story_cards

    since = follow.parse_since(since_text)
    moved = queries.stories_moved_since(store, since.isoformat())[:limit]
    cards = {c["id"]: c for c in story_cards(store, list(queries.story_cards(store, moved).values()))}
    found = [{**follow.update(store, sid, since), "id": sid, "headline": cards[sid]["headline"] if sid in cards else ""}
             for sid in moved]
    if as_json:
        json.dump({"since": since.isoformat(), "stories": found}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not found:
        _warn(f"no story has a report first seen after {since.isoformat()}")
    for item in found:
        reprints = f", {item['new_reprints']} reprint(s)" if item["new_reprints"] else ""
        print(f"{item['id']}  {item['headline']}\n    {item['new_reports']} new report(s){reprints} after "
              f"{since_text}, latest {item['latest']}")
        for sent in item["sentences"]:
            print(f"    - {sent['text']} ({sent['outlet'] or 'unknown outlet'})")
        if not item["sentences"]:
            print("    (nothing the earlier reports did not already say)")
    return EXIT_OK


def cmd_stories(args: argparse.Namespace) -> int:
    from .store import open_store

    store = open_store(_settings(args))
    if args.since:
        return _stories_since(store, args.since, args.json, args.limit)
    from .view import story_view

    rows = store.list_stories(limit=args.limit, offset=args.offset)
    views = [v for v in (story_view(store, r["id"], include_hidden=True) for r in rows) if v is not None]
    if args.json:
        json.dump({"stories": views}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not views:
        _warn(f"no stories stored in {store.where}; run `storyline ingest PATH` first")
    for v in views:
        print(f"{v['id']}  {v['coverage']}  {v['headline']}")
    return EXIT_OK


def cmd_sources(args: argparse.Namespace) -> int:
    """`storyline sources list|add|edit|import`: the source registry (see storyline/sources.py)."""
    from . import sources as registry
    from .store import open_store
    from .store.editorial import log_action

    store = open_store(_settings(args))
    fields = {k: getattr(args, k) for k in ("country", "language", "kind", "lean", "note") if getattr(args, k) is not None}
    if args.domain is not None:
        fields["domains"] = args.domain
    if args.action == "list":
        outlets = registry.list_outlets(store)
        if args.format == "csv":
            sys.stdout.write(registry.to_csv(outlets))
        elif args.format == "json":
            json.dump({"sources": [o.to_dict() for o in outlets]}, sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        else:
            if not outlets:
                _warn("no outlets registered; `storyline sources add NAME ...` or `storyline sources import FILE.csv`")
            for o in outlets:
                desc = ", ".join(x for x in (o.kind, o.country, o.language, o.lean) if x)
                print(f"{o.name}  [{desc}]  {' '.join(o.domains)}" + (f"\n    {o.note}" if o.note else ""))
        return EXIT_OK
    if args.action == "import":
        if not args.names:
            _warn("error: `storyline sources import FILE.csv|FILE.opml`")
            return EXIT_FAILED
        status = EXIT_OK
        for path in args.names:
            added, updated, errors = registry.import_file(store, path)
            for err in errors:
                _warn(f"error: {err}")
            _warn(f"{path}: {added} outlet(s) added, {updated} updated, {len(errors)} row(s) refused")
            status = EXIT_PARTIAL if errors and status == EXIT_OK else status
        return status
    if len(args.names) != 1:
        _warn(f"error: `storyline sources {args.action}` takes one outlet name")
        return EXIT_FAILED
    name = args.names[0]
    if args.action == "add":
        outlet = registry.add_outlet(store, registry.outlet_from({"name": name, **fields}))
        log_action(store, "source-add", {"outlet": outlet.to_dict()})
        _warn(f"registered {outlet.name}")
        return EXIT_OK
    if args.rename:
        fields["name"] = args.rename
    before, after = registry.edit_outlet(store, name, fields)
    log_action(store, "source-edit", {"before": before.to_dict(), "outlet": after.to_dict()})
    _warn(f"updated {after.name}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .store import open_store

    store = open_store(_settings(args))
    rows = store.iter_articles() if args.what == "articles" else store.iter_stories()
    with _output(args.output) as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return EXIT_OK


def demo_corpus_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("storyline") / "demo" / "corpus.jsonl"))


def _demo_registry(store: Any) -> None:
    """Register the demo's fictional outlets (demo/sources.csv) unless a registry exists."""
    from . import sources as registry

    if not registry.list_outlets(store):
        registry.import_file(store, demo_corpus_path().with_name("sources.csv"))


def cmd_demo(args: argparse.Namespace) -> int:
    from .engine import open_engine
    from .output import views_text
    from .view import story_view

    settings = _settings(args)
    if not args.data_dir:
        settings = settings.with_(data_dir=settings.data_dir / "demo")
    store = open_engine(settings, command="storyline demo")
    _ingest(store, [str(demo_corpus_path())], settings)
    _demo_registry(store)
    views = [v for v in (story_view(store.store, r["id"]) for r in store.list_stories(limit=args.limit)) if v]
    print(views_text(views))
    counts = store.counts()
    _warn(f"demo: {counts['articles']} articles in {counts['stories']} stories, stored in {store.where}")
    if args.serve:
        return _serve(settings, args.host, args.port)
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from .engine import open_engine

    settings = _settings(args)
    engine = open_engine(settings, command="storyline rebuild")
    with progress("rebuilding") as advance:
        stats = engine.rebuild(progress=advance)
    _warn(f"rebuilt {stats['stories']} stories from {stats['articles']} articles with this engine: "
          f"{stats['moved']} article(s) changed story, {stats['merges']} old story(ies) merged, "
          f"{stats['splits']} split(s) recorded ({engine.where})")
    return EXIT_OK


def _serve(settings: Settings, host: str, port: int, processes: int = 1) -> int:
    try:
        from .web import serve
    except ImportError:
        _warn("the web interface is not available in this build")
        return EXIT_FAILED
    return EXIT_OK if serve(settings, host=host, port=port, processes=processes) == 0 else EXIT_FAILED


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(args), args.host, args.port, args.workers)


def cmd_backfill(args: argparse.Namespace) -> int:
    """``storyline backfill``: the archive on Spark (storyline/backfill; docs/backfill.md)."""
    from .backfill import SparkUnavailable, run_backfill

    settings = _settings(args)
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    try:
        report = run_backfill(args.sources, settings, master=args.spark, window_days=args.window_days,
                              stage_dir=args.stage_dir, say=lambda line: _warn(line))
    except SparkUnavailable as exc:
        _warn(f"error: {exc}")
        return EXIT_FAILED
    _warn("backfill done:\n" + report.table())
    if report.errors and report.articles == 0 and report.files_skipped == 0:
        return EXIT_FAILED
    if report.errors:
        return EXIT_FAILED if settings.strict else EXIT_PARTIAL
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


class _Version(argparse.Action):
    """``--version``: the release, and whether the compiled kernels are in use (looked up only
    when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from .kernels import describe

        print(f"storyline 0.1.0 ({describe()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyline", description="Group news articles into stories with attributed summaries.",
                                     parents=[_log_options(argparse.SUPPRESS)])
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    log_options = _log_options(argparse.SUPPRESS)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, *, data: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[log_options])
        p.set_defaults(func=func)
        p.add_argument("--strict", action="store_true", help="exit non-zero when any item could not be read")
        if data:
            p.add_argument("--data-dir", help="where the database lives (default: $STORYLINE_DATA_DIR or the user data dir)")
            p.add_argument("--database-url", help="postgresql://user@host/db to store in PostgreSQL instead of the data "
                           "dir's SQLite file (default: $STORYLINE_DATABASE_URL or the database_url setting)")
        return p

    p = command("digest", cmd_digest, "read items from files and print the stories found, biggest first")
    p.add_argument("paths", nargs="+", help="files or folders: .txt (one item per line), .jsonl, .csv, feeds, .html, .warc")
    p.add_argument("--json", action="store_true", help="print JSON: {\"stories\": [...]}")
    p.add_argument("--limit", type=int, default=None, help="show at most this many stories (text output)")
    p.add_argument("--max-words", type=int, default=None, help="summary budget in words (default 50)")

    p = command("cluster", cmd_cluster, "assign articles (JSONL) to stories in one online pass")
    p.add_argument("input", help="JSONL articles {id, title, text, url?, source?, published?}; - for stdin")
    p.add_argument("-o", "--output", help="write {id, story} lines here (default stdout)")

    p = command("summarize", cmd_summarize, "summarize story clusters (JSONL) with headline and attributed sentences")
    p.add_argument("input", help="JSONL stories {id, articles: [{title, text, ...}]}; - for stdin")
    p.add_argument("-o", "--output", help="write {id, headline, summary, sentences} lines here (default stdout)")
    p.add_argument("--max-words", type=int, default=None, help="summary budget in words (default 50)")

    p = command("ingest", cmd_ingest, "store articles from files, folders, feeds or archives "
                "(exit 0: all read; 3: some sources or items failed, the rest stored; 1: nothing read)", data=True)
    p.add_argument("sources", nargs="+", help="files, folders, feed URLs, OPML files or WARC archives")
    p.add_argument("--allow-private-network", action="store_true", help="allow fetching from loopback/private addresses")
    p.add_argument("--no-fetch-pages", action="store_true", help="keep teaser feed entries as they are (no page fetch)")

    p = command("feeds", cmd_feeds, "list, add or remove subscribed feeds and show their health", data=True)
    p.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    p.add_argument("urls", nargs="*", help="feed URLs (for add/remove)")
    p.add_argument("--interval", type=float, help="minutes between polls (add)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--allow-private-network", action="store_true", help="allow subscribing to loopback/private addresses")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--drop-articles", action="store_true", help="remove: also forget the articles read from the feed")
    keep.add_argument("--keep-articles", dest="drop_articles", action="store_false",
                      help="remove: keep the feed's articles and stories (the default)")
    p.add_argument("--reason", help="remove --drop-articles: why, kept in the removal log")

    p = command("watch", cmd_watch, "poll subscribed feeds when due and store new articles", data=True)
    p.add_argument("--once", action="store_true", help="poll the due feeds once and exit")
    p.add_argument("--allow-private-network", action="store_true", help="allow fetching from loopback/private addresses")
    p.add_argument("--no-fetch-pages", action="store_true", help="keep teaser feed entries as they are (no page fetch)")

    p = command("backup", cmd_backup, "copy the database to PATH (consistent while run/watch/serve keep going)", data=True)
    p.add_argument("path", help="the backup file to write (one SQLite file)")
    p.add_argument("--force", action="store_true", help="replace PATH when it exists")
    p.add_argument("--json", action="store_true", help="print what was copied as JSON")

    p = command("restore", cmd_restore, "bring a backup back into a new or empty data directory", data=True)
    p.add_argument("path", help="a file written by `storyline backup`")
    p.add_argument("--force", action="store_true", help="replace the data directory's articles, stories and feeds")
    p.add_argument("--json", action="store_true", help="print what was restored as JSON")

    p = command("forget", cmd_forget, "remove articles by id, outlet or source feed, recompute their stories "
                "and record what was removed and why", data=True)
    p.add_argument("--id", action="append", default=[], metavar="ID", help="an article id (repeatable)")
    p.add_argument("--outlet", action="append", default=[], metavar="NAME", help="every article of this outlet (repeatable)")
    p.add_argument("--feed", action="append", default=[], metavar="URL", help="every article read from this feed (repeatable)")
    p.add_argument("--reason", help="why (kept in the removal log)")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed; change nothing")
    p.add_argument("--json", action="store_true", help="print the removed ids and the stories touched as JSON")
    p.add_argument("--log", action="store_true", help="print the removal log (what was removed, when and why) as JSON")
    p.add_argument("--limit", type=int, default=100, help="--log: at most this many rows")

    p = command("run", cmd_run, "poll the subscribed feeds and serve the site in one supervised process "
                "(SIGTERM/Ctrl-C stops after the batch in progress; /healthz reports its state)", data=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; put a reverse proxy in front)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--base-url", help="public address of the site, for feed links (setting base_url)")
    p.add_argument("--trusted-proxies", help="addresses/networks whose X-Forwarded-* headers are believed (setting trusted_proxies)")
    p.add_argument("--allow-private-network", action="store_true", help="allow fetching from loopback/private addresses")
    p.add_argument("--no-fetch-pages", action="store_true", help="keep teaser feed entries as they are (no page fetch)")
    p.add_argument("--max-sleep", type=float, default=60.0, help=argparse.SUPPRESS)  # seconds between looks at the feed list

    p = command("stories", cmd_stories, "list stored stories, biggest first (or, with --since, what moved)", data=True)
    p.add_argument("--since", help="ISO date or time: print the stories with reports first seen after it and "
                                   "their new sentences (a bare date means after that day)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = command("sources", cmd_sources, "list, add, edit or import registered outlets (the source registry)",
                data=True)
    p.add_argument("action", nargs="?", choices=["list", "add", "edit", "import"], default="list")
    p.add_argument("names", nargs="*", help="the outlet name (add, edit) or files to import (.csv, .opml)")
    p.add_argument("--domain", action="append", help="a web domain of the outlet (repeat for several)")
    p.add_argument("--country", help="country (an ISO code like GB, or a name)")
    p.add_argument("--language", help="language code (en, pt-BR)")
    p.add_argument("--kind", help="wire, national, local, public broadcaster, magazine, trade, blog, aggregator, other")
    p.add_argument("--lean", help="left, centre-left, centre, centre-right, right (or empty)")
    p.add_argument("--note", help="where this description came from")
    p.add_argument("--rename", help="edit: the outlet's new name")
    p.add_argument("--format", choices=["text", "json", "csv"], default="text", help="list: output format")

    p = command("export", cmd_export, "export stored articles or stories as JSONL", data=True)
    p.add_argument("what", choices=["articles", "stories"])
    p.add_argument("-o", "--output", help="file to write (default stdout)")

    p = command("demo", cmd_demo, "load the built-in demo corpus, print its stories and serve the web UI", data=True)
    p.add_argument("--no-serve", dest="serve", action="store_false", help="print the stories and exit")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    command("rebuild", cmd_rebuild, "re-derive every story from the stored articles with the current engine "
            "(after changing embedder or models); keeps story ids where stories match", data=True)
    p = command("backfill", cmd_backfill, "backfill archives (WARC, JSONL; files, folders, globs, warc.paths "
                "listings) into the store on Apache Spark, resumable", data=True)
    p.add_argument("sources", nargs="+", help="WARC/WARC.gz or JSONL files, folders, globs, listing files of paths")
    p.add_argument("--spark", default=None, metavar="MASTER",
                   help="Spark master: local[*] (default; under spark-submit, its --master), local[N], spark://host:7077, yarn, ...")
    p.add_argument("--window-days", type=float, default=7.0, help="clustering window in days (default 7)")
    p.add_argument("--stage-dir", help="folder every executor can write (default: <data dir>/backfill)")

    p = command("serve", cmd_serve, "serve the web UI and JSON API", data=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                   help="server processes sharing the port (default 1; one per core serves the most pages)")
    return parser


def _log_options(default: Any) -> argparse.ArgumentParser:
    """-v/-q/--log-json, accepted before or after the command (``storyline -v run`` or ``storyline run -v``)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("-v", "--verbose", action="count", default=default,
                         help="more log lines: -v info (every feed polled, every fetch), -vv debug")
    options.add_argument("-q", "--quiet", action="count", default=default, help="log errors only")
    options.add_argument("--log-json", action="store_true", default=default,
                         help="log one JSON object per line (for log collectors)")
    return options


def main(argv: Sequence[str] | None = None, *, end_process: bool = False) -> int:
    """Run one command; returns its exit code. ``end_process`` (the ``storyline`` command
    itself, not a caller in Python): a command that leaves a large heap ends the process at once
    (:func:`storyline.process.end_at_once`)."""
    from . import logs

    import logging

    args = build_parser().parse_args(argv)
    one_blas_thread()  # before a command loads numpy
    try:
        logs.configure(verbose=getattr(args, "verbose", 0), quiet=getattr(args, "quiet", 0),
                       json_lines=getattr(args, "log_json", False),
                       default=logging.INFO if args.command == "run" else logging.WARNING)
    except StorylineError as exc:
        _warn(f"error: {exc}")
        return EXIT_USAGE
    try:
        code = int(args.func(args))
    except StorylineError as exc:
        _warn(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _warn("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    if end_process and getattr(args, "end_at_once", None) is not None:
        end_at_once(code)
    return code


def entry() -> int:
    """The ``storyline`` console command (``pyproject.toml``)."""
    return main(end_process=True)


if __name__ == "__main__":
    sys.exit(entry())
