"""The `voxframe` command: each service adds its own subcommand through the `voxframe.commands` entry points."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from shared import __version__
from shared.bus.errors import WorkerDied
from shared.errors import ConfigError
from shared.logs import setup_logging

_LOGGER = logging.getLogger(__name__)


def common_options() -> argparse.ArgumentParser:
    """Flags every subcommand takes (pass as `parents=[...]`)."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("logging")
    group.add_argument("--debug", action="store_true", help="log at DEBUG level")
    group.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format (default: text)")
    return parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line with the subcommand `only` alone when it names one, else with every subcommand (help, a
    typo): loading a service's module to add its subcommand imports what the service runs on (the prompter's word
    lists alone took 3 s of CPU), so a worker starts without loading the other four."""
    parser = argparse.ArgumentParser(
        prog="voxframe",
        description="Paint a room's conversation on its picture frames.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"voxframe {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    common = common_options()
    entries = entry_points(group="voxframe.commands")
    if only in entries.names:
        entries = entries.select(name=only)
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            add_command = entry.load()
        except ImportError as exc:  # a service whose optional dependencies are missing
            _LOGGER.warning("voxframe %s unavailable: %s", entry.name, exc)
            continue
        add_command(commands, common)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The word `argv` names its subcommand with: its first that is no option (None when there is none)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(named_command(argv))
    args = parser.parse_args(argv)
    setup_logging(args.debug, args.log_format)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"voxframe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except WorkerDied as exc:
        print(f"voxframe {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
