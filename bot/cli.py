"""`desk`: the command line. Heavy modules are imported inside each command, so `--help`,
`desk sources` and table lookups start fast (no torch)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC
from pathlib import Path

from retrieval.errors import DeskError

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"


def _kb(args):
    from retrieval.store import KnowledgeBase

    return KnowledgeBase(args.settings)


def cmd_ingest(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.pipeline import Ingester, count_inputs

    if not args.inputs and not args.feed and not args.tic:
        raise DeskError("nothing to ingest: give files, folders, URLs, --feed URL or --tic")
    kb = _kb(args)
    columns = (
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("", total=count_inputs(args.inputs) or None)

        def advance(item: str) -> None:
            progress.update(task, advance=1, description=item[-60:])

        ingester = Ingester(kb, progress=advance, guild_id=args.guild)
        report = ingester.ingest(list(args.inputs), holdings=args.holdings)
        if args.feed:
            report.merge(ingester.ingest(args.feed, feed=True))
        if args.tic:
            from ingest.holdings_ingest import fetch_tic

            report.merge(fetch_tic(ingester))
    if report.added or report.updated:
        from retrieval.search import Retriever

        # The keyword index file follows the store now, so no question has to build it.
        Retriever(kb).update_index()
    for error in report.errors:
        print(f"failed {error}", file=sys.stderr)  # one unwrapped line each, easy to grep
    print(f"Ingested into {kb.describe()}: {report.summary()}")
    return 1 if report.failed else 0


def print_records(records: list[dict], as_json: bool, empty: str, headers: tuple[str, ...], row) -> bool:
    """Records as JSON or as an aligned table; False when there were none to show."""
    if as_json:
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return bool(records)
    if not records:
        print(empty)
        return False
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, box=None)
    for record in records:
        table.add_row(*row(record))
    Console(width=200).print(table)
    return True


def _scope(args):
    from bot.scope import ALL

    return ALL if args.guild is None else args.guild


def cmd_sources(args) -> int:
    if args.show:
        return _show_source(_kb(args), args.show)
    from bot.scope import documents_in_scope
    from retrieval.store import owner_of

    print_records(
        documents_in_scope(_kb(args), _scope(args)),
        args.json,
        "The knowledge base is empty. Add sources with `desk ingest PATH_OR_URL`.",
        ("id", "title", "source", "date", "kind", "chunks", "guild"),
        lambda d: (
            d["id"],
            d.get("title", ""),
            d.get("source", ""),
            d.get("published", "") or d.get("published_raw", ""),
            d.get("kind", ""),
            str(d.get("chunks", 0)),
            str(owner_of(d) or "shared"),
        ),
    )
    return 0


def _show_source(kb, doc_id: str) -> int:
    """One document: its record, the body its chunks hold, and the boilerplate ingest removed."""
    record = kb.get_document(doc_id)
    if record is None:
        raise DeskError(f"no document with id {doc_id!r}; `desk sources` lists them")
    for key in ("title", "source", "url", "published", "kind", "ref", "chunks", "ingested_at"):
        if record.get(key) not in (None, ""):
            print(f"{key}: {record[key]}")
    chunks = sorted(kb.iter_chunks({"doc_id": doc_id}), key=lambda c: c[2].get("position", c[2].get("chunk", 0)))
    print("\nbody:")
    for _, text, meta in chunks:
        print(f"  {meta.get('sentence') or text}")
    removed = record.get("boilerplate") or ""
    print(f"\nboilerplate removed ({len(removed.splitlines())} lines):")
    for line in removed.splitlines():
        print(f"  - {line}")
    return 0


def cmd_forget(args) -> int:
    from bot.scope import forget_in_scope

    forget_in_scope(_kb(args), args.id, _scope(args), unknown="no document with id {id!r}; `desk sources` lists them")
    print(f"Forgot {args.id}.")
    return 0


def _engine(kb):
    from retrieval.answer import AnswerEngine
    from retrieval.llm import llm_from_settings

    return AnswerEngine(kb, llm=llm_from_settings(kb.settings))


def cmd_ask(args) -> int:
    engine = _engine(_kb(args))
    # Without --guild: the shared documents only, as a DM to the bot would see.
    answer = engine.ask(args.question, guild_id=args.guild)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    else:
        from bot.render.terminal import answer_text

        print(answer_text(answer))
    # A large store without its keyword-index file is indexed in the background while this
    # answer used dense search: finish and save it (once per store) so the next `desk ask` has it.
    sys.stdout.flush()
    engine.retriever.wait_for_index()
    return 0


def cmd_eval(args) -> int:
    from retrieval.evaluate import load_items, run_eval

    items = load_items(Path(args.file))
    kb = _kb(args)
    if args.ingest:
        from ingest.pipeline import Ingester

        report = Ingester(kb).ingest(args.ingest)
        print(f"Corpus: {report.summary()}", file=sys.stderr)
    engine = _engine(kb)
    engine.retriever.refresh()
    engine.retriever.wait_for_index()  # scores are taken with the whole hybrid search
    result = run_eval(engine, items, halves=args.halves)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    from retrieval.evaluate import half_of

    for item in result["items"]:
        # The held-out half is only scored: reading its failures would make it a tuning set.
        if not item["passed"] and not (result["summary"]["by_half"] and half_of(item["id"]) == "held-out (even)"):
            print(f"FAIL {item['id']} ({item['kind']}): {item['question']}\n     -> {item['answer']['text'][:300]}")
    summary = result["summary"]
    print(f"\nPassed {summary['passed']}/{summary['total']}")
    for kind, score in summary["by_kind"].items():
        print(f"  {kind:<13} {score['passed']:>3}/{score['total']:<3} {score['rate']:.0%}")
    for half, kinds in summary["by_half"].items():
        print(f"  {half}: " + ", ".join(f"{k} {s['passed']}/{s['total']}" for k, s in kinds.items()))
    if summary["expected_source_cited"] is not None:
        print(f"  expected source cited: {summary['expected_source_cited']:.0%}")
    print(f"  answers without a citation: {summary['answers_without_citation']}")
    print(f"  latency p50 {summary['latency_ms']['p50']} ms, p95 {summary['latency_ms']['p95']} ms")
    return 0


def cmd_digest(args) -> int:
    from retrieval.digest import compose_digest, render_markdown

    digest = compose_digest(_kb(args), since=args.since)  # a bad --since is a DeskError: one clear line
    print(render_markdown(digest, markdown=args.markdown))
    return 0


def ensure_sample_ingested(kb) -> None:
    """`make run` on a fresh machine: the sample corpus goes in once, then is left alone. The data
    folder is the user's, shared by every checkout: a sample ingested from another checkout is
    read again from this one, so its citations name files that are here (nothing is embedded)."""
    documents = kb.list_documents()
    if documents and not any(_sample_elsewhere(str(d.get("ref") or "")) for d in documents):
        return
    from ingest.pipeline import Ingester

    if documents:
        print(f"Citing the sample corpus from {SAMPLE_DIR}…", file=sys.stderr)
    else:
        print(f"First run: ingesting the sample corpus from {SAMPLE_DIR} (about a minute)…", file=sys.stderr)
    report = Ingester(kb).ingest([str(SAMPLE_DIR)])
    print(f"Sample corpus: {report.summary()}", file=sys.stderr)


def _sample_elsewhere(ref: str) -> bool:
    """A sample file's ref in another checkout: ".../data/sample/x.md" not under this SAMPLE_DIR."""
    marker = f"{os.sep}data{os.sep}sample{os.sep}"
    return marker in ref and not ref.startswith(str(SAMPLE_DIR) + os.sep)


def cmd_run(args) -> int:
    kb = _kb(args)
    ensure_sample_ingested(kb)
    if os.environ.get("DISCORD_TOKEN"):
        return cmd_bot(args)
    return cmd_chat(args)


def cmd_chat(args) -> int:
    from bot.chat import run_chat

    return run_chat(_engine(_kb(args)), interactive=sys.stdin.isatty())


def _bot_settings(args):
    from bot.settings import BotSettings

    return BotSettings(data_dir=args.settings.data_dir)


def cmd_bot(args) -> int:
    from bot.discord_bot import run_bot

    return run_bot(_bot_settings(args))


def cmd_feedback(args) -> int:
    from bot.feedback import FeedbackStore

    store = FeedbackStore(_bot_settings(args).feedback_path)
    entries = store.entries()
    shown = print_records(
        entries,
        args.json,
        "No feedback yet: votes on the bot's answers (👍/👎) are listed here.",
        ("time", "vote", "user", "question", "answer", "sources"),
        lambda e: (
            e.get("time", ""),
            "👍" if e.get("vote") == "up" else "👎",
            e.get("user_id", ""),
            e.get("question", ""),
            (e.get("answer", "") or "")[:80],
            str(len(e.get("sources", []))),
        ),
    )
    if args.json or not shown:
        return 0
    latest = store.latest()  # a changed vote counts once, as its last
    up = sum(1 for e in latest if e.get("vote") == "up")
    print(f"{len(latest)} votes: {up} up, {len(latest) - up} down")
    return 0


def _yesterday() -> str:
    from datetime import datetime, timedelta

    from retrieval.calendar import utc_stamp

    return utc_stamp(datetime.now(UTC) - timedelta(days=1))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand must not reset what was given before it (`desk --data-dir X sources`).
    common.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="where the embedded store and state live (DESK_DATA_DIR)"
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log more")

    parser = argparse.ArgumentParser(
        prog="desk",
        description="Holdings Desk: answers about foreign holdings of U.S. Treasurys, with citations.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", parents=[common], help="add articles, feeds and holdings tables to the knowledge base")
    p.add_argument("inputs", nargs="*", metavar="PATH_OR_URL", help="files, folders (recursive) or http(s) URLs")
    p.add_argument("--feed", action="append", default=[], metavar="URL_OR_FILE", help="an RSS/Atom feed (repeatable)")
    p.add_argument("--holdings", action="store_true", help="read the inputs as holdings tables")
    p.add_argument("--tic", action="store_true", help="fetch Treasury's current holdings tables")
    p.add_argument(
        "--guild", type=int, metavar="ID", help="the documents belong to this Discord server only (default: shared)"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sources", parents=[common], help="list what is stored, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--show", metavar="ID", help="one document: its body as stored and the boilerplate removed")
    p.add_argument(
        "--guild", type=int, metavar="ID", help="what this Discord server sees: shared documents and its own"
    )
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("forget", parents=[common], help="remove a document by id")
    p.add_argument("id")
    p.add_argument("--guild", type=int, metavar="ID", help="only a document of this Discord server may be forgotten")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("holdings", parents=[common], help="exact figures from the holdings tables")
    from bot.holdings_cmd import add_arguments, cmd_holdings

    add_arguments(p)
    p.set_defaults(func=cmd_holdings)

    p = sub.add_parser("ask", parents=[common], help="answer one question with its sources")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.add_argument(
        "--guild", type=int, metavar="ID", help="answer as this Discord server would: shared documents and its own"
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", parents=[common], help="score a question set (JSONL)")
    p.add_argument("file")
    p.add_argument("--ingest", nargs="*", default=[], metavar="PATH", help="ingest these first")
    p.add_argument(
        "--halves",
        action="store_true",
        help="a dev set: score its odd (tuning) and even (held-out) questions apart, list tuning failures only",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("digest", parents=[common], help="print the digest: new articles and the latest table")
    p.add_argument(
        "--since", default=_yesterday(), help="ISO date or time; articles ingested after it are new (default: 24 h ago)"
    )
    p.add_argument("--markdown", action="store_true", help="keep Markdown emphasis")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("chat", parents=[common], help="the terminal chat")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("run", parents=[common], help="what `make run` does: sample corpus, then the bot or the chat")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("bot", parents=[common], help="run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(func=cmd_bot)

    p = sub.add_parser("feedback", parents=[common], help="list the 👍/👎 votes on the bot's answers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_feedback)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The parsed command, run; its exit code."""
    from retrieval.settings import RetrievalSettings

    # The commands are handed this settings object (and its data_dir); --data-dir overrides DESK_DATA_DIR.
    given = getattr(args, "data_dir", None)
    args.settings = RetrievalSettings(data_dir=Path(given).expanduser().resolve()) if given else RetrievalSettings()
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# Commands that only read: nothing of theirs waits in a buffer for the interpreter's exit, so
# they may skip the ~0.3 s Python spends tearing chromadb's modules down.
READ_ONLY = {"sources", "holdings", "ask", "digest", "feedback"}


def console_main() -> None:
    """The `desk` console script."""
    args = build_parser().parse_args(sys.argv[1:])
    exit_after(args, run(args))


def exit_after(args: argparse.Namespace, code: int) -> None:
    if args.command in READ_ONLY:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
