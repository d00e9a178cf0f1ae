"""The `localmind` command line. Results go to stdout; logs and progress go to stderr."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table

from localmind import __version__
from localmind.config import VARIANTS, Settings, ignored_workspace_settings, load_settings, user_config_file
from localmind.errors import ConfigError, LocalMindError

log = logging.getLogger("localmind")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args)
    try:
        settings = _settings_for(Path.cwd(), args)
        handler: Handler = args.handler
        return handler(args, settings)
    except LocalMindError as exc:
        if isinstance(exc, ConfigError) and args.handler is cmd_doctor:
            return _doctor_invalid_settings(args, exc)
        err.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        err.print("interrupted: what was done so far is kept; run the command again to go on")
        return 130


_warned_workspaces: set[Path] = set()


def _settings_for(workspace: Path, args: argparse.Namespace) -> Settings:
    """The settings for a workspace; the workspace file's settings ignored for want of trust are named once."""
    settings = load_settings(workspace=workspace, overrides=_overrides(args))
    if workspace.resolve() not in _warned_workspaces:
        _warned_workspaces.add(workspace.resolve())
        ignored = ignored_workspace_settings(workspace)
        if ignored:
            log.warning("%s", ignored)
    return settings


def _setup_logging(args: argparse.Namespace) -> None:
    """Logs on stderr (or --log-file), as text or JSON lines (--log-format), redacted, never on stdout. The
    flags win over the observability section of the settings (read here leniently: main reports a bad one)."""
    from localmind.observability.logs import ConsoleLines, configure_logging, console_lines

    level = logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING
    fmt, file = args.log_format, args.log_file
    if fmt is None or file is None:
        try:
            observability = load_settings(workspace=Path.cwd()).observability
            fmt, file = fmt or observability.log_format, file or observability.log_file
        except (LocalMindError, OSError):
            fmt = fmt or "text"
    configure_logging(level, fmt, file)
    if fmt == "json" and file is None:
        err.file = console_lines()  # So every stderr line is a JSON object, messages and progress included.
    elif isinstance(err.file, ConsoleLines):
        err._file = None  # Back to whatever sys.stderr is (an earlier main() in this process set JSON).


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags that set a setting, in the same shape as editor settings."""
    section = {key: getattr(args, key) for key in ("variant", "batch_size", "device") if getattr(args, key, None)}
    if section.get("variant") == "all":
        del section["variant"]
    return {"embeddings": section} if section else {}


# Handlers ---------------------------------------------------------------------------------------------


def cmd_models_build(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings import chosen_variant
    from localmind.embeddings.inspect import build_models

    variants = list(VARIANTS) if args.variant == "all" else [chosen_variant(settings.embeddings)]
    with err.status("building models (a few seconds each)…"):
        built = build_models(settings.embeddings, args.model, variants)  # type: ignore[arg-type]
    for files in built:
        verb = "built" if files.built else "already built"
        out.print(f"{files.spec.name} {files.variant}: {verb} at {files.folder}")
    return 0


def cmd_models_list(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings.inspect import model_table

    rows = model_table(settings.embeddings.resolved_cache_dir())
    if args.json:
        _print_json(rows)
        return 0
    header = ("model", "dims", "max tokens", "pooling", "licence", "source", *VARIANTS)
    lines = []
    for row in rows:
        variants: dict[str, str] = row["variants"]  # type: ignore[assignment]
        name = f"{row['name']} (default)" if row["default"] else str(row["name"])
        facts = (row["dimensions"], row["max_tokens"], row["pooling"], row["license"], row["source"])
        lines.append((name, *map(str, facts), *(variants[variant] for variant in VARIANTS)))
    if not out.is_terminal:  # A pipe gets whole values, one tab-separated line per model, not a cut table.
        sys.stdout.write("".join("\t".join(line) + "\n" for line in [header, *lines]))
        return 0
    table = Table(*header)
    for line in lines:
        table.add_row(*line)
    out.print(table)
    return 0


def cmd_models_verify(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings.inspect import verify_models

    checks = verify_models(settings.embeddings, args.model)
    for check in checks:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        out.print(f"{mark} {check.name}: {check.detail}" + (f"\n      fix: {check.fix}" if check.fix else ""))
    return 0 if all(check.ok for check in checks) else 1


def cmd_embed(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings import load_embedder
    from localmind.embeddings.inspect import read_texts_jsonl

    texts = read_texts_jsonl(args.input)
    embedder = load_embedder(settings)
    prefix = embedder.spec.query_prefix if args.query else embedder.spec.document_prefix
    result = embedder.encode(texts, prefix)
    np.save(args.output, result.vectors)
    cut = sum(result.truncated)
    err.print(f"embedded {len(texts)} texts with {embedder.model_id} on {embedder.provider} → {args.output}")
    if cut:
        err.print(f"{cut} texts were longer than {embedder.max_tokens} tokens and were cut")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.wiring import Components

    settings = _settings_for(args.paths[0], args)
    _start_metrics(args.metrics_port or (settings.observability.metrics_port if args.watch else None))
    missing = [path for path in args.paths if not path.is_dir()]
    if missing:
        raise LocalMindError(f"not a folder: {', '.join(map(str, missing))}")
    with _sigterm_as_exit(), Components.for_roots(args.paths, settings) as components:
        with _progress_reporter() as report_progress:
            indexer = components.indexer(report_progress)
            _print_report(indexer.run(), args.json)
            _warn_about_backends(indexer)
        if args.watch:
            _watch(indexer, args.json)
    return 0


def _from_team(report: IndexReport) -> str:
    return f", {report.chunks_from_team} from the team cache" if report.chunks_from_team else ""


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """While indexing, SIGTERM ends the run as SystemExit (exit status 143), so the run is recorded as
    terminated instead of being left "running"; the previous handler comes back afterwards."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _warn_about_backends(indexer: Indexer) -> None:
    drain = indexer.last_drain
    for name, error in (drain.failed if drain else {}).items():
        pending = drain.pending.get(name, 0) if drain else 0
        err.print(f"[yellow]warning:[/] {name} is unavailable ({error}); {pending} file(s) wait in the outbox")


def _watch(indexer: Indexer, as_json: bool) -> None:
    """Re-index after each burst of changes. The first yield comes once the watcher is listening (or a
    second later), and one pass then catches whatever changed between the first run and that moment."""
    import watchfiles

    err.print(f"watching {', '.join(map(str, indexer.workspace.roots))} (Ctrl-C stops)")
    changes = watchfiles.watch(
        *indexer.workspace.roots, debounce=50, step=20, rust_timeout=1000, yield_on_timeout=True, raise_interrupt=False
    )
    caught_up = False
    for batch in changes:
        if batch or not caught_up:
            report = indexer.run()
            caught_up = True
            if report.files_indexed or report.files_deleted:
                _print_report(report, as_json)


def _print_report(report: IndexReport, as_json: bool) -> None:
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0.0
    summary = {
        "files_seen": report.files_seen,
        "files_indexed": report.files_indexed,
        "files_unchanged": report.files_unchanged,
        "files_deleted": report.files_deleted,
        "chunks_written": report.chunks_written,
        "chunks_embedded": report.chunks_embedded,
        "chunks_from_team": report.chunks_from_team,
        "chunks_spot_checked": report.chunks_spot_checked,
        "secrets_redacted": report.secrets_redacted,
        "skipped": dict(report.skipped),
        "seconds": round(report.seconds, 3),
        "searchable_seconds": round(report.searchable_seconds, 3),
        "embedding_seconds": round(report.seconds - report.searchable_seconds, 3),
        "embed_seconds": round(report.embed_seconds, 3),
        "chunks_per_second": round(rate, 1),
    }
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()
        return
    out.print(
        f"indexed {report.files_indexed} files ({report.files_unchanged} unchanged, {report.files_deleted} deleted), "
        f"{report.chunks_written} chunks ({report.chunks_embedded} embedded{_from_team(report)}) "
        f"in {report.seconds:.1f} s: "
        f"searchable by words and links after {report.searchable_seconds:.1f} s (phase 1), "
        f"by meaning after {report.seconds - report.searchable_seconds:.1f} s more (phase 2)"
    )
    for reason, count in report.skipped.most_common():
        out.print(f"  skipped {count}: {reason}")


@contextmanager
def _progress_reporter() -> Iterator[Callable[[IndexProgress], None]]:
    """A live bar on a terminal; plain lines (at most one every two seconds) otherwise. Phase 1 counts files,
    phase 2 (embedding, with everything already searchable by words) counts chunks. Both say how long is
    left once the phase's pace is known."""
    if err.is_terminal:
        columns = (*Progress.get_default_columns()[:-1], TextColumn("{task.fields[chunks]} chunks {task.fields[left]}"))
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("indexing files", total=None, chunks=0, left="")
            yield lambda p: bar.update(task, left=p.estimate_left() or "", **_bar_fields(p))
        return
    last_line = [0.0]

    def line(p: IndexProgress) -> None:
        done, total = p.counts
        if p.elapsed - last_line[0] >= 2.0 or done == total:
            last_line[0] = p.elapsed
            left = p.estimate_left()
            estimate = f", {left}" if left else ""
            if p.phase == "embedding":
                err.print(f"searchable; embedded {done}/{total} chunks for meaning search{estimate}")
            else:
                err.print(f"indexed {done}/{total} files, {p.chunks} chunks{estimate}")

    yield line


def _bar_fields(p: IndexProgress) -> dict[str, Any]:
    if p.phase == "embedding":
        return {"description": "embedding (searchable)", "completed": p.embedded, "total": p.to_embed}
    return {"description": "indexing files", "completed": p.files_done, "total": p.files_total, "chunks": p.chunks}


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.retrieval import parse_query

    signals = tuple(args.signals.split(",")) if args.signals else None
    root = str(args.root.resolve()) if args.root else None
    flags = {"k": args.k, "path": args.path, "kind": args.kind, "language": args.language, "signals": signals}
    flags["root"] = root
    if args.query is None and not args.queries:
        raise LocalMindError("give a query, or --queries FILE")
    if args.query is not None and not args.query.strip():
        raise LocalMindError("the query is empty: say what to look for, in words or identifiers")
    with _open_readers(args.workspace, settings) as (_, readers):
        if args.queries:
            _search_batch(readers.searcher, args.queries, flags)
        else:
            _print_hits(readers.searcher.search(parse_query(query=args.query, **flags)), args.json)
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.wiring import Components

    with Components.for_indexed(args.path or Path.cwd(), settings) as components:
        remote = components.unguarded_remote()
        try:
            report, clean = _verify_backends(components, remote, args.repair)
        finally:
            remote.close()
    if args.json:
        _print_json(report)
    elif not report:
        out.print("no server backend is selected: the embedded store is the only copy, nothing to verify")
    else:
        _print_verdicts(report)
    return 0 if clean else 1


def _verify_backends(components: Components, remote: RemoteBackends, repair: bool) -> tuple[dict[str, Any], bool]:
    """Each backend's verdict (and the team cache's) as JSON, and whether all are clean now."""
    from localmind.stores.verify import Audited, CheckedCache, verify, verify_cache

    audited: dict[str, Audited] = {}
    if remote.graph is not None:
        graph: Any = remote.graph
        audited["neo4j"] = Audited(graph, lambda _strong: graph.file_inventory(), graph.orphans, graph.delete_orphans)
    if remote.vectors is not None:
        vectors: Any = remote.vectors
        audited["milvus"] = Audited(
            vectors, lambda strong: vectors.file_inventory(consistency="Strong" if strong else None)
        )
    store = components.open_store(journal_backends=tuple(audited))
    try:
        shared = components.settings.team.shared_workspace is not None
        verdicts = verify(store, audited, repair, shared)
        report: dict[str, Any] = {name: verdict.to_json() for name, verdict in verdicts.items()}
        clean = all(verdict.final.clean for verdict in verdicts.values())
        if remote.cache is not None:
            model_id, _ = components.model_identity()
            cached = verify_cache(store, cast(CheckedCache, remote.cache), model_id, repair)
            report["team_cache"] = cached.to_json()
            clean = clean and cached.clean
    finally:
        store.close()
    return report, clean


def _print_verdicts(report: dict[str, Any]) -> None:
    for name, verdict in report.items():
        if name == "team_cache":
            state = "consistent" if verdict["clean"] else "DIFFERS"
            out.print(
                f"team cache: {state} ({verdict.get('rows', '?')} vectors; {verdict['checked']} of ours checked, "
                f"{verdict['mismatched']} differ){_fixed(verdict['fixed'])}"
            )
            continue
        state = "in sync" if verdict["clean"] else "DRIFT"
        orphans = sum(verdict["orphans"].values())
        out.print(
            f"{name}: {state} ({verdict['files']} files; missing {len(verdict['missing'])}, extra "
            f"{len(verdict['extra'])}, mismatched {len(verdict['mismatched'])}, orphans {orphans}, "
            f"pending {verdict['pending']}){_fixed(verdict['fixed'])}"
        )


def _fixed(fixed: dict[str, int]) -> str:
    done = [f"{key.replace('_', ' ')} {count}" for key, count in fixed.items() if count]
    return f"; repaired: {', '.join(done)}" if done else ""


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if settings.graph.backend != "neo4j":
        out.print("the graph lives in the embedded store, which migrates itself when opened")
        return 0
    from localmind.stores.neo4j_migrations import migrate_database

    applied = migrate_database(settings.graph)
    out.print(f"applied migrations: {', '.join(map(str, applied))}" if applied else "the Neo4j schema is current")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """The answer streams to stdout as the LLM writes it (extractive without one), then its sources."""
    from localmind.chat.ask import AskRequest

    with _open_readers(args.workspace, settings) as (components, readers):
        request = AskRequest(args.question, path=args.path)
        answer = components.chat().ask(readers.searcher, request, _ignore if args.json else _write_now)
    if args.json:
        _print_json(answer.to_json())
        return 0
    sys.stdout.write("\n")
    if not answer.extractive and answer.sources:
        sys.stdout.write("\nSources:\n")
        for source in answer.sources:
            sys.stdout.write(f"[{source.n}] {source.path}:{source.range.start.line + 1}\n")
    return 0


def cmd_summarize(args: argparse.Namespace, settings: Settings) -> int:
    """A briefing on one indexed file: summary, key topics and three questions."""
    from localmind.chat.summarize import read_file

    path = args.path.resolve()
    if not path.exists():
        raise LocalMindError(f"no such file: {args.path}")
    with _open_readers(path if path.is_dir() else path.parent, settings) as (components, readers):
        located = components.workspace.locate(path)
        if located is None or path.is_dir():
            raise LocalMindError(f"{args.path} is not a file of the indexed workspace")
        root, rel_path = located
        summarizer = components.summarizer()
        file = read_file(readers.searcher, str(root), rel_path, summarizer.budget_chars())
        if file is None:
            raise LocalMindError(f"{rel_path} is not indexed (yet); run `localmind index`")
        summary = summarizer.summarize(file)
    if args.json:
        _print_json(summary.to_json())
        return 0
    if summary.extractive:
        sys.stderr.write(f"(extractive: {summary.fallback_reason})\n")
    sys.stdout.write(f"{summary.summary}\n\nTopics: {', '.join(summary.topics)}\n\nQuestions:\n")
    for number, question in enumerate(summary.questions, 1):
        sys.stdout.write(f"{number}. {question}\n")
    return 0


def _write_now(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _ignore(piece: str) -> None:
    del piece


@contextmanager
def _open_readers(folder: Path | None, settings: Settings) -> Iterator[tuple[Components, Readers]]:
    """The components of the indexed workspace holding folder, and read handles over its store."""
    from localmind.wiring import Components

    with Components.for_indexed(folder or Path.cwd(), settings) as components:
        readers = components.open_readers()
        try:
            yield components, readers
        finally:
            readers.close()


def _search_batch(searcher: Searcher, path: Path, flags: dict[str, Any]) -> None:
    """One JSON line out per {"_id", "text"} line in, in the same order."""
    from localmind.retrieval import parse_query

    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                query = parse_query(query=item["text"], **flags)
            except (ValueError, KeyError, TypeError) as exc:
                raise LocalMindError(f'{path}:{number}: expected {{"_id", "text"}} ({exc})') from None
            hits = [hit.to_json() for hit in searcher.search(query)]
            sys.stdout.write(json.dumps({"_id": item.get("_id"), "results": hits}, ensure_ascii=False) + "\n")


def _print_hits(hits: list[SearchHit], as_json: bool) -> None:
    if as_json:
        _print_json([hit.to_json() for hit in hits])
        return
    if not hits:
        err.print("no results")
    for number, hit in enumerate(hits, start=1):
        where = f"{hit.path}:{hit.range.start.line + 1}"
        context = hit.symbol or " > ".join(hit.heading)
        out.print(f"[bold]{number:>2}. {where}[/]  [dim]{context}  ({hit.provenance}, {hit.score:.4f})[/]")
        out.print("      " + hit.snippet.replace("\n", "\n      "), markup=False)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.wiring import Components

    with Components.for_indexed(args.path or Path.cwd(), settings) as components:
        store = components.open_store()
        try:
            stats = {"roots": [str(r) for r in components.workspace.roots], **store.stats()}
        finally:
            store.close()
    if args.json:
        _print_json(stats)
        return 0
    for key, value in stats.items():
        out.print(f"{key:>16}: {value}")
    return 0


TOKEN_ENV = "LOCALMIND_LSP_TOKEN"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.lsp.transport import serve_stdio, serve_tcp

    _start_metrics(args.metrics_port or settings.observability.metrics_port)
    max_bytes = settings.limits.max_message_bytes
    if not args.tcp:
        serve_stdio(max_bytes)
        return 0
    token = _tcp_token(args.token_file)
    if not 0 < args.port < 65536:
        raise LocalMindError(f"--port must be between 1 and 65535 (got {args.port})")
    serve_tcp(args.port, token, max_bytes)
    return 0


def _tcp_token(token_file: Path | None) -> str:
    """The token a TCP client must send, from --token-file or the environment; never empty."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LocalMindError(f"cannot read --token-file {token_file}: {exc.strerror}") from None
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < 16:
        raise LocalMindError(
            f"TCP mode needs a token of at least 16 characters in --token-file or ${TOKEN_ENV} "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return token


def _start_metrics(port: int | None) -> Closeable | None:
    """The Prometheus endpoint on 127.0.0.1:port, when a port is given; it lives as long as the process.
    A port that is taken is a warning, not an error: a second editor window still gets its server."""
    if port is None:
        return None
    from localmind.observability.metrics import serve_metrics

    try:
        server = serve_metrics(port)
    except ConfigError as exc:
        err.print(f"[yellow]warning:[/] no metrics endpoint: {exc}")
        return None
    err.print(f"metrics on {server.url}")
    return server


def _metrics_port(text: str) -> int:
    """An argparse type: a TCP port Local Mind may listen on without privileges."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1024 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1024 to 65535 (got {text!r})")
    return port


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.observability.doctor import diagnose

    diagnosis = diagnose(settings, Path.cwd(), args.metrics_port)
    if args.json:
        _print_json(diagnosis.to_json())
        return 1 if diagnosis.failed else 0
    report = diagnosis.embeddings
    for key in ("python", "onnxruntime", "onnxruntime_package", "available_providers", "model", "provider"):
        if key in report:
            out.print(f"{key:>20}: {report[key]}", markup=False)
    if "provider_reason" in report:
        out.print(f"{'why':>20}: {report['provider_reason']}", markup=False)
    if "gpu_hint" in report:
        out.print(f"{'note':>20}: {report['gpu_hint']}", markup=False)
    _print_checks(diagnosis.checks)
    return 1 if diagnosis.failed else 0


def _doctor_invalid_settings(args: argparse.Namespace, error: ConfigError) -> int:
    """doctor when the settings do not load: the failed settings check, and the error on stderr as for any
    command (exit status 2)."""
    from localmind.observability.doctor import invalid_settings

    diagnosis = invalid_settings(error, Path.cwd())
    if args.json:
        _print_json(diagnosis.to_json())
    else:
        _print_checks(diagnosis.checks)
    err.print(f"[bold red]error:[/] {error}", markup=True, highlight=False)
    return 2


def _print_checks(checks: Sequence[Check]) -> None:
    marks = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        data = check.to_json()  # Redacted, as a last guard.
        out.print(f"{marks[check.status]} ", end="")
        out.print(f"{data['name']}: {data['detail']}", markup=False)
        if data["fix"]:
            out.print(f"      fix: {data['fix']}", markup=False)


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


# Argument parsing -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localmind", description="Local Mind: local knowledge for your editor.")
    parser.add_argument("--version", action="version", version=f"localmind {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: debug)")
    parser.add_argument("--log-format", choices=["text", "json"], help="text, or one JSON object per line")
    parser.add_argument("--log-file", type=Path, help="write logs to this file instead of stderr (never stdout)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_models(commands)
    _add_embed(commands)
    _add_index(commands)
    _add_serve(commands)
    _add_trust(commands)
    doctor = _command(commands, "doctor", cmd_doctor, "check settings, model, store and backends; say how to fix")
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--metrics-port", type=_metrics_port, help="also check that this metrics port is free")
    return parser


if TYPE_CHECKING:
    from localmind.indexing.pipeline import Indexer, IndexReport
    from localmind.indexing.pipeline import Progress as IndexProgress
    from localmind.observability.doctor import Check
    from localmind.observability.metrics import Closeable
    from localmind.retrieval import Searcher, SearchHit
    from localmind.wiring import Components, Readers, RemoteBackends

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _command(commands: Subcommands, name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    sub.set_defaults(handler=handler)
    return sub


def _add_models(commands: Subcommands) -> None:
    models = commands.add_parser("models", help="build, list and verify embedding models")
    sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    build = _command(sub, "build", cmd_models_build, "build the ONNX model(s) into the user cache")
    build.add_argument("--model", help="a model from models/manifest.toml (default: embeddings.model)")
    build.add_argument("--variant", choices=[*VARIANTS, "auto", "all"], default="all")
    listing = _command(sub, "list", cmd_models_list, "list the known models and what is built")
    listing.add_argument("--json", action="store_true")
    verify = _command(sub, "verify", cmd_models_verify, "check digests, load each built model and embed a probe")
    verify.add_argument("--model", help="a model from models/manifest.toml (default: all)")


def _add_index(commands: Subcommands) -> None:
    index = _command(commands, "index", cmd_index, "index folders (one workspace) into the embedded store")
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="the workspace's root folders")
    index.add_argument("--watch", action="store_true", help="keep running and re-index changed files")
    index.add_argument("--json", action="store_true", help="print each run's report as one JSON line")
    index.add_argument("--metrics-port", type=_metrics_port, help="serve Prometheus metrics on 127.0.0.1:PORT")
    search = _command(commands, "search", cmd_search, "search the indexed workspace (dense + BM25 + graph)")
    search.add_argument("query", nargs="?", help="what to look for, in plain words or identifiers")
    search.add_argument("-k", type=int, help="how many results (default: retrieval.default_k)")
    search.add_argument("--json", action="store_true", help="print the results as JSON")
    search.add_argument("--path", help="only paths matching this glob (gitignore syntax)")
    search.add_argument("--kind", choices=["code", "notes", "docs"])
    search.add_argument("--language", help="only files of this language, e.g. python")
    search.add_argument("--root", type=Path, help="only this folder of a multi-folder workspace")
    search.add_argument("--signals", help="comma-separated subset of dense,lexical,graph (for evaluation)")
    search.add_argument("--queries", type=Path, help='batch mode: a JSONL file of {"_id", "text"}; JSON lines out')
    search.add_argument("--workspace", type=Path, help="a folder of the workspace (default: here)")
    asking = _command(commands, "ask", cmd_ask, "answer a question from the workspace, citing its sources")
    asking.add_argument("question", help="the question, in plain words")
    asking.add_argument("--json", action="store_true", help='print {"answer", "extractive", "sources"} as JSON')
    asking.add_argument("--path", help="only sources whose path matches this glob")
    asking.add_argument("--workspace", type=Path, help="a folder of the workspace (default: here)")
    summarizing = _command(commands, "summarize", cmd_summarize, "a summary, key topics and questions for a file")
    summarizing.add_argument("path", type=Path, metavar="PATH", help="an indexed file")
    summarizing.add_argument("--json", action="store_true", help="print the briefing as JSON")
    verifying = _command(commands, "verify", cmd_verify, "compare server backends with the local index")
    verifying.add_argument("path", nargs="?", type=Path, help="a folder of the workspace (default: here)")
    verifying.add_argument("--repair", action="store_true", help="re-send drifted files and check again")
    verifying.add_argument("--json", action="store_true")
    _command(commands, "migrate", cmd_migrate, "apply pending schema migrations to the Neo4j database")
    status = _command(commands, "status", cmd_status, "show what the index of a workspace holds")
    status.add_argument("path", nargs="?", type=Path, help="a folder of the workspace (default: here)")
    status.add_argument("--json", action="store_true")


def _add_serve(commands: Subcommands) -> None:
    serve = _command(commands, "serve", cmd_serve, "run the language server (stdio unless --tcp)")
    serve.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    serve.add_argument("--tcp", action="store_true", help="listen on 127.0.0.1 instead; a token is required")
    serve.add_argument("--port", type=int, default=2087, help="the TCP port (default 2087)")
    serve.add_argument("--token-file", type=Path, help=f"a file holding the TCP token (else ${TOKEN_ENV})")
    serve.add_argument("--metrics-port", type=_metrics_port, help="serve Prometheus metrics on 127.0.0.1:PORT")


def _add_embed(commands: Subcommands) -> None:
    embed = _command(commands, "embed", cmd_embed, "embed the texts of a JSONL file into a .npy matrix")
    embed.add_argument("--input", required=True, type=Path, help='JSONL, one {"text": ...} per line')
    embed.add_argument("--output", required=True, type=Path, help="where to write the float32 (n, d) .npy")
    embed.add_argument("--variant", choices=[*VARIANTS, "auto"])
    embed.add_argument("--batch-size", type=int, dest="batch_size")
    embed.add_argument("--device", choices=["auto", "cpu", "cuda", "tensorrt"])
    embed.add_argument("--query", action="store_true", help="embed as queries (adds the model's query prefix)")


def _add_trust(commands: Subcommands) -> None:
    text = "let FOLDER's own localmind.toml set every setting (the LLM endpoint, backends, data folders…)"
    trust = _command(commands, "trust", cmd_trust, text)
    trust.add_argument("folder", type=Path, nargs="?", help="the folder to trust (with --list: none)")
    trust.add_argument("--list", action="store_true", help="print the trusted folders")
    untrust = _command(commands, "untrust", cmd_untrust, "take FOLDER off the trust list")
    untrust.add_argument("folder", type=Path)


def cmd_trust(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.workspace_trust import set_trust, trusted_folders

    del settings
    if args.list or args.folder is None:
        for folder in trusted_folders(user_config_file()):
            out.print(str(folder))
        return 0
    set_trust(args.folder, user_config_file(), trusted=True)
    err.print(f"trusted {args.folder.resolve()}: its localmind.toml may now set every setting")
    return 0


def cmd_untrust(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.workspace_trust import set_trust

    del settings
    set_trust(args.folder, user_config_file(), trusted=False)
    err.print(f"{args.folder.resolve()} is not trusted: its localmind.toml may only tune indexing and search")
    return 0


if __name__ == "__main__":
    sys.exit(main())
