"""The `localmind` command line. Results go to stdout; logs and progress go to stderr."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table

from localmind import __version__
from localmind.config import Settings, load_settings
from localmind.errors import LocalMindError

log = logging.getLogger("localmind")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        settings = load_settings(workspace=Path.cwd(), overrides=_overrides(args))
        handler: Handler = args.handler
        return handler(args, settings)
    except LocalMindError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags that set a setting, in the same shape as editor settings."""
    section = {key: getattr(args, key) for key in ("variant", "batch_size", "device") if getattr(args, key, None)}
    if section.get("variant") == "all":
        del section["variant"]
    return {"embeddings": section} if section else {}


# Handlers ---------------------------------------------------------------------------------------------


def cmd_models_build(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings.inspect import build_models

    variants = ["fp32", "int8"] if args.variant == "all" else [args.variant]
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
    table = Table("model", "dims", "max tokens", "pooling", "licence", "source", "fp32", "int8")
    for row in rows:
        variants: dict[str, str] = row["variants"]  # type: ignore[assignment]
        name = f"{row['name']} (default)" if row["default"] else str(row["name"])
        facts = (row["dimensions"], row["max_tokens"], row["pooling"], row["license"], row["source"])
        table.add_row(name, *map(str, facts), variants["fp32"], variants["int8"])
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


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from localmind.embeddings.inspect import doctor_report

    report = doctor_report(settings.embeddings)
    problems: list[str] = report["problems"]  # type: ignore[assignment]
    if args.json:
        _print_json(report)
        return 1 if problems else 0
    for key in ("python", "onnxruntime", "onnxruntime_package", "available_providers", "model", "provider"):
        if key in report:
            out.print(f"{key:>20}: {report[key]}")
    if "provider_reason" in report:
        out.print(f"{'why':>20}: {report['provider_reason']}")
    for problem in problems:
        out.print(f"[red]problem:[/] {problem}")
    if "gpu_hint" in report:
        out.print(f"{'note':>20}: {report['gpu_hint']}")
    return 1 if problems else 0


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


# Argument parsing -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="localmind", description="Local Mind: local knowledge for your editor.")
    parser.add_argument("--version", action="version", version=f"localmind {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_models(commands)
    _add_embed(commands)
    doctor = _command(commands, "doctor", cmd_doctor, "check the model and execution provider, and say how to fix")
    doctor.add_argument("--json", action="store_true")
    return parser


if TYPE_CHECKING:
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
    build.add_argument("--variant", choices=["fp32", "int8", "all"], default="all")
    listing = _command(sub, "list", cmd_models_list, "list the known models and what is built")
    listing.add_argument("--json", action="store_true")
    verify = _command(sub, "verify", cmd_models_verify, "check digests, load each built model and embed a probe")
    verify.add_argument("--model", help="a model from models/manifest.toml (default: all)")


def _add_embed(commands: Subcommands) -> None:
    embed = _command(commands, "embed", cmd_embed, "embed the texts of a JSONL file into a .npy matrix")
    embed.add_argument("--input", required=True, type=Path, help='JSONL, one {"text": ...} per line')
    embed.add_argument("--output", required=True, type=Path, help="where to write the float32 (n, d) .npy")
    embed.add_argument("--variant", choices=["fp32", "int8"])
    embed.add_argument("--batch-size", type=int, dest="batch_size")
    embed.add_argument("--device", choices=["auto", "cpu", "cuda", "tensorrt"])
    embed.add_argument("--query", action="store_true", help="embed as queries (adds the model's query prefix)")


if __name__ == "__main__":
    sys.exit(main())
