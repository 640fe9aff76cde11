"""Command-line interface: parse arguments -> Settings -> one library call per command."""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from .config import Settings
from .errors import InputError, StorylineError
from .ingest import ReadReport, read_paths
from .ingest.files import article_from_record
from .models import Article

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _warn(message: str) -> None:
    print(f"storyline: {message}", file=sys.stderr)


def _report_errors(report: ReadReport) -> None:
    for err in report.errors:
        _warn(f"warning: {err}")


def _exit_status(report: ReadReport, strict: bool, *, produced: int) -> int:
    if produced == 0 and report.errors:
        _warn("error: nothing could be read")
        return EXIT_FAILED
    if strict and report.errors:
        _warn(f"error: {len(report.errors)} problem(s) and --strict was given")
        return EXIT_FAILED
    return EXIT_OK


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on an interactive terminal; silence when output is piped."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


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
    )


# -- commands -------------------------------------------------------------------------------
def cmd_digest(args: argparse.Namespace) -> int:
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
    from .service import ingest_sources

    report = ReadReport()
    with progress("ingesting") as advance:
        summary = ingest_sources(store, sources, settings, report, advance)
    _report_errors(report)
    return report, summary


def cmd_ingest(args: argparse.Namespace) -> int:
    from .store import open_store

    settings = _settings(args)
    store = open_store(settings)
    report, summary = _ingest(store, args.sources, settings)
    result, counts = summary.result, store.counts()
    extra = f"; {summary.feeds_subscribed} feed(s) read" if summary.feeds_subscribed else ""
    if summary.warc_skipped:
        extra += f"; {len(summary.warc_skipped)} archive(s) already done, skipped"
    _warn(
        f"read {result.seen} item(s): {result.new} new ({result.reprints} reprints), "
        f"{result.already_stored} already stored{extra}; {len(report.errors)} problem(s); "
        f"the store holds {counts['articles']} articles in {counts['stories']} stories ({settings.sqlite_path})"
    )
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

    store = open_store(_settings(args))
    if args.action == "add":
        from .models import FeedState

        for url in args.urls:
            state = store.get_feed(url) or FeedState(url=url)
            if args.interval:
                state.interval_s = args.interval * 60
            store.save_feed(state)
        _warn(f"subscribed {len(args.urls)} feed(s); `storyline watch` polls them")
        return EXIT_OK
    if args.action == "remove":
        missing = [u for u in args.urls if not store.delete_feed(u)]
        for url in missing:
            _warn(f"warning: {url} is not subscribed")
        return EXIT_FAILED if missing else EXIT_OK
    feeds = store.list_feeds()
    if args.json:
        from dataclasses import asdict

        rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(f).items()} for f in feeds]
        json.dump({"feeds": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not feeds:
        _warn("no feeds subscribed; `storyline feeds add URL` or `storyline ingest FEED_URL|OPML`")
    for f in feeds:
        health = "ok" if not f.consecutive_failures else f"FAILING x{f.consecutive_failures}: {f.last_error}"
        print(f"{f.url}\n    {f.title or '(untitled)'} | last success {_when(f.last_success_at)} | "
              f"next poll {_when(f.next_poll_at)} | {f.entries_seen} articles | {health}")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .ingest.watch import Watcher
    from .service import FeedStoreAdapter
    from .store import open_store

    settings = _settings(args)
    store = open_store(settings)
    watcher = Watcher(FeedStoreAdapter(store), settings, fetch_pages=settings.fetch_pages)
    if not store.list_feeds():
        _warn("no feeds subscribed; `storyline feeds add URL` or `storyline ingest OPML` first")
        return EXIT_FAILED
    try:
        if args.once:
            report = watcher.poll_once()
            for poll in report.feeds:
                _warn(f"{poll.status}: {poll.url} ({poll.new_articles} new)" + (f" — {poll.error}" if poll.error else ""))
            return EXIT_OK if report.ok else EXIT_FAILED
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        _warn(f"watching {len(store.list_feeds())} feed(s); Ctrl-C to stop")
        watcher.run(stop)
        return EXIT_OK
    finally:
        watcher.close()


def cmd_stories(args: argparse.Namespace) -> int:
    from .store import open_store

    store = open_store(_settings(args))
    rows = store.list_stories(limit=args.limit, offset=args.offset)
    if args.json:
        json.dump({"stories": [dict(r) | {"summary": json.loads(r["summary"] or "{}").get("summary", "")}
                               for r in rows]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows:
        _warn(f"no stories stored in {store.path}; run `storyline ingest PATH` first")
    for r in rows:
        extra = f", {r['duplicates']} reprints" if r["duplicates"] else ""
        print(f"{r['id']}  {r['size']} report(s){extra}, {r['outlets']} outlet(s)  {r['headline']}")
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


def cmd_demo(args: argparse.Namespace) -> int:
    from .output import stories_text
    from .store import open_store

    settings = _settings(args)
    if not args.data_dir:
        settings = settings.with_(data_dir=settings.data_dir / "demo")
    store = open_store(settings)
    _ingest(store, [str(demo_corpus_path())], settings)
    stories = [s for s in (store.story(r["id"]) for r in store.list_stories(limit=args.limit)) if s]
    print(stories_text(stories))
    counts = store.counts()
    _warn(f"demo: {counts['articles']} articles in {counts['stories']} stories, stored in {settings.sqlite_path}")
    if args.serve:
        return _serve(settings, args.host, args.port)
    return EXIT_OK


def _serve(settings: Settings, host: str, port: int) -> int:
    try:
        from .web import serve
    except ImportError:
        _warn("the web interface is not available in this build")
        return EXIT_FAILED
    serve(settings, host=host, port=port)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(_settings(args), args.host, args.port)


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
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storyline", description="Group news articles into stories with attributed summaries.")
    parser.add_argument("--version", action="version", version="storyline 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, *, data: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        p.add_argument("--strict", action="store_true", help="exit non-zero when any item could not be read")
        if data:
            p.add_argument("--data-dir", help="where the database lives (default: $STORYLINE_DATA_DIR or the user data dir)")
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

    p = command("watch", cmd_watch, "poll subscribed feeds when due and store new articles", data=True)
    p.add_argument("--once", action="store_true", help="poll the due feeds once and exit")
    p.add_argument("--allow-private-network", action="store_true", help="allow fetching from loopback/private addresses")
    p.add_argument("--no-fetch-pages", action="store_true", help="keep teaser feed entries as they are (no page fetch)")

    p = command("stories", cmd_stories, "list stored stories, biggest first", data=True)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = command("export", cmd_export, "export stored articles or stories as JSONL", data=True)
    p.add_argument("what", choices=["articles", "stories"])
    p.add_argument("-o", "--output", help="file to write (default stdout)")

    p = command("demo", cmd_demo, "load the built-in demo corpus, print its stories and serve the web UI", data=True)
    p.add_argument("--no-serve", dest="serve", action="store_false", help="print the stories and exit")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)

    p = command("backfill", cmd_backfill, "backfill archives (WARC, JSONL; files, folders, globs, warc.paths "
                "listings) into the store on Apache Spark, resumable", data=True)
    p.add_argument("sources", nargs="+", help="WARC/WARC.gz or JSONL files, folders, globs, listing files of paths")
    p.add_argument("--spark", default="local[*]", metavar="MASTER",
                   help="Spark master: local[*] (default), local[N], spark://host:7077, yarn, ...")
    p.add_argument("--database-url", help="store URL instead of --data-dir")
    p.add_argument("--window-days", type=float, default=7.0, help="clustering window in days (default 7)")
    p.add_argument("--stage-dir", help="folder every executor can write (default: <data dir>/backfill)")

    p = command("serve", cmd_serve, "serve the web UI and JSON API", data=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return parser


def _configure_logging() -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("storyline: %(levelname)s: %(message)s"))
    root = logging.getLogger("storyline")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        return int(args.func(args))
    except StorylineError as exc:
        _warn(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _warn("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
