"""The `playground` command: serve | plugins | models | bench | space export | new-plugin, and
any command a plugin registers (`playground lora-train`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from playground import devices, space
from playground.host import ENV_LOAD_PLUGINS, load

DEFAULT_HOST = "127.0.0.1"  # local only unless asked; a Space sets GRADIO_SERVER_NAME
DEFAULT_PORT = 7860


def _plugin_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(n) for n in text.split(",") if n.strip())
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers of at least 1, like 10,50")
    return counts


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugins",
        type=_plugin_list,
        default=None,
        help=f"comma-separated plugins to load (default: all; also ${ENV_LOAD_PLUGINS})",
    )
    parser.add_argument(
        "--device",
        choices=devices.DEVICES,
        default=None,
        help="where tensors live (default: the best available)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description=__doc__)
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="serve the app (the default command)")
    _add_common(serve)
    serve.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST))
    # argparse converts a string default with `type`, so a bad $PORT is a usage error
    serve.add_argument("--port", type=int, default=os.environ.get("PORT", str(DEFAULT_PORT)))
    serve.add_argument("--share", action="store_true", help="also open a public Gradio link")

    plugins = sub.add_parser("plugins", help="list plugins, their hooks, concepts and errors")
    _add_common(plugins)
    plugins.add_argument("--json", action="store_true")

    models = sub.add_parser("models", help="list the model registry")
    _add_common(models)
    models.add_argument("--json", action="store_true")

    bench = sub.add_parser("bench", help="time our code against each reference library")
    _add_common(bench)
    bench.add_argument("concept", nargs="?", help="a concept id, 'models' or 'host' (default: all)")
    bench.add_argument("--json", action="store_true", help="one JSON object per line")
    bench.add_argument(
        "--visitors",
        type=_counts,
        default=None,
        help="host: simulated API visitors, comma-separated, a run each (default: 10,50)",
    )
    bench.add_argument(
        "--seconds", type=float, default=None, help="host: seconds of load per run (default: 30)"
    )

    space_cmd = sub.add_parser("space", help="deploy as a Hugging Face Space")
    space_sub = space_cmd.add_subparsers(dest="space_command", required=True)
    export = space_sub.add_parser("export", help="write a folder ready to push as a Space")
    export.add_argument("dir", help="the folder to write (new or empty)")
    export.add_argument(
        "--plugins",
        type=_plugin_list,
        default=None,
        help="comma-separated plugins the Space serves (default: all of this project's)",
    )
    export.add_argument(
        "--hardware",
        choices=space.HARDWARE,
        default=space.DEFAULT_HARDWARE,
        help=f"suggested_hardware (default: %(default)s; fallback: {space.FALLBACK_HARDWARE})",
    )

    new_plugin = sub.add_parser("new-plugin", help="scaffold an installable concept plugin")
    new_plugin.add_argument("name", help="the plugin and concept id: a slug like dot_product")
    new_plugin.add_argument("dir", nargs="?", help="where to write it (default: ./playground-NAME)")
    return parser


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [["" if row.get(c) is None else str(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    for line in [columns, *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def cmd_plugins(args: argparse.Namespace) -> int:
    host = load(args.plugins)
    host.build()  # a build failure is part of a plugin's record
    records = [r.as_dict() for r in host.plugins.values()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        dist = f"{r['distribution']} {r['version']}" if r["distribution"] else "(no distribution)"
        print(f"{r['name']}  {dist}  [{'ok' if r['ok'] else 'FAILED'}]")
        print(
            f"  hooks: {', '.join(r['hooks']) or '-'}; concepts: {', '.join(r['concepts']) or '-'}"
        )
        for e in r["errors"]:
            print(f"  error at {e['stage']}: {e['message']}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = load(args.plugins).registry.listing()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        for row in rows:
            row["available"] = "yes" if row["available"] else f"no: {row['why_unavailable']}"
        _print_table(rows, ["id", "task", "source", "parameters", "plugin", "available"])
    else:
        print("No models registered.")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from playground.bench import (
        SERVING_SECONDS,
        SERVING_VISITORS,
        cold_start_row,
        model_rows,
        run_cases,
        serving_rows,
    )

    host = load(args.plugins)
    concepts = {c.id: c for c in host.concepts if c.bench is not None}
    if args.concept not in (None, "host", "models", *concepts):
        have = ", ".join(["host", "models", *concepts])
        print(f"no benchmark for {args.concept!r}; have: {have}", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []

    def emit(new: list[dict[str, Any]]) -> None:
        rows.extend(new)
        if args.json:
            for row in new:
                print(json.dumps(row), flush=True)

    for concept_id, concept in concepts.items():
        if args.concept in (None, concept_id):
            assert concept.bench is not None  # `concepts` holds those with one
            context = host.context(concept)
            emit(run_cases(concept_id, concept.bench(context), context.device()))
    if args.concept in (None, "models"):
        emit(model_rows(host.registry, devices.preferred()))
    if args.concept in (None, "host"):
        plugins = ",".join(args.plugins) if args.plugins else None
        emit([cold_start_row(plugins)])
        emit(
            serving_rows(
                args.visitors or SERVING_VISITORS, args.seconds or SERVING_SECONDS, plugins
            )
        )
    if not args.json:
        _print_table(
            rows,
            [
                "concept",
                "case",
                "device",
                "ours_ms",
                "reference",
                "reference_ms",
                "ratio",
                "max_abs_err",
                "value",
                "unit",
                "target",
                "met",
            ],
        )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from playground.app import create_app, serve
    from playground.quiet import quiet

    quiet()  # before any plugin imports the libraries it quiets
    host = load(args.plugins)
    serve(create_app(host), host, args.host, args.port, share=args.share)
    return 0


def cmd_space(args: argparse.Namespace) -> int:
    from pathlib import Path

    try:
        dest = space.export(Path(args.dir), args.plugins, args.hardware)
    except RuntimeError as exc:  # the wheel did not build or lacks files: say what pip said
        print(f"playground: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote a Space for {args.hardware} to {dest}. Push it with:")
    print(f"  hf upload USER/SPACE {dest} . --repo-type=space")
    return 0


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from pathlib import Path

    from playground import scaffold

    dest = scaffold.create(args.name, Path(args.dir) if args.dir else None)
    print(f"Wrote the plugin {args.name!r} to {dest}. Next:")
    print(f"  pip install -e {dest}  &&  playground --plugins {args.name}")
    print(f"  cd {dest} && python -m pytest")
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "plugins": cmd_plugins,
    "models": cmd_models,
    "bench": cmd_bench,
    "space": cmd_space,
    "new-plugin": cmd_new_plugin,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["serve", *argv]
    if argv[0] not in COMMANDS:  # a plugin's command (or a typo argparse will report)
        host = load()
        if argv[0] in host.commands:
            return host.commands[argv[0]].main(host.context(), argv[1:])
        parser = _parser()
        parser.epilog = "commands from plugins: " + (
            ", ".join(f"{c.name} ({c.help})" for c in host.commands.values()) or "none"
        )
        args = parser.parse_args(argv)
    else:
        args = _parser().parse_args(argv)
    try:
        if getattr(args, "device", None):  # space export and new-plugin have no --device
            devices.set_preferred(args.device)
        devices.check_environment()  # a bad $PLAYGROUND_DEVICE fails here, not in every event
        return COMMANDS[args.command](args)
    except ValueError as exc:  # unknown plugin or unavailable device: say so, no traceback
        print(f"playground: {exc}", file=sys.stderr)
        return 2
