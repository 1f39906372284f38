"""`tesla-offpeak`: the arguments of every command, and one line on stderr with exit code 2 or 1 when it fails."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence

from offpeak_cli import commands, logs
from offpeak_cli.errors import CliError
from shared.clock import Clock, SystemClock

PROG = "tesla-offpeak"
EPILOG = """examples:
  tesla-offpeak need add 90 --by "tomorrow 05:30"
  tesla-offpeak need add 80 --by 2026-12-02T07:00
  tesla-offpeak need list
  tesla-offpeak need cancel need_3
  tesla-offpeak plan
  tesla-offpeak status --json
  tesla-offpeak check
  tesla-offpeak --project my-project logs --since 2h --component SPECIAL

The local worker of `make run` is used when its token exists in STATE_DIR (default .local-state),
else the deployed one (project from --project, GOOGLE_CLOUD_PROJECT, deploy/config.env or gcloud).
Exit codes: 0 done, 1 the worker or gcloud failed, 2 what was typed is wrong."""


def build_parser() -> argparse.ArgumentParser:
    """The command tree; the common options work before or after the command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tesla smart charging: add and cancel charging needs, see tonight's plan and the system's state.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, suppress=False)
    tree = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    need = tree.add_parser("need", help="special-charging needs: add, list, cancel")
    need_commands = need.add_subparsers(dest="need_command", required=True, metavar="ACTION")
    add = _command(need_commands, "add", commands.need_add, "reach TARGET % by a time; shows the plan and its cost")
    add.add_argument("target", metavar="TARGET", help="state of charge to reach, 50-100 (e.g. 90 or 90%%)")
    add.add_argument("--by", required=True, metavar="WHEN", help='"tomorrow 05:30", "05:30", "2026-12-02T05:30"')
    _command(need_commands, "list", commands.need_list, "every need, soonest departure first")
    cancel = _command(need_commands, "cancel", commands.need_cancel, "cancel a need, its session and jobs")
    cancel.add_argument("need_id", metavar="ID", help="e.g. need_3 (from `need list`)")

    _command(tree, "plan", commands.plan, "tonight: windows, kWh, estimated cost, saving against charging on arrival")
    _command(tree, "status", commands.status, "car, sessions, jobs, tokens, signing and pairing, last failures")
    _command(tree, "check", commands.check, "run the daily special-charging check now")
    log = _command(tree, "logs", commands.read_logs, "the services' logs (gcloud logging read)")
    log.add_argument("--since", default="2h", help="how far back: 30m, 2h, 1d (default 2h)")
    log.add_argument("--component", type=str.upper, choices=logs.COMPONENTS, help="only this component's lines")
    log.add_argument("--severity", type=str.upper, choices=logs.SEVERITIES, help="only this severity or worse")
    log.add_argument("--limit", type=_positive, default=200, help="at most this many lines (default 200)")
    log.add_argument(
        "--file", metavar="PATH", help="filter a saved `make run` log instead (make run 2>&1 | tee run.log)"
    )
    return parser


def _command(
    group: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    handler: Callable[[commands.Run], None],
    summary: str,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=summary, description=summary)
    _common(parser, suppress=True)
    parser.set_defaults(handler=handler)
    return parser


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Repeated on every command with SUPPRESS so that `status --json` and `--json status` both work
    # and an option given before the command is not reset by the command's own default.
    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--json", action="store_true", default=default(False), help="print the worker's raw JSON")
    parser.add_argument("--local", action="store_true", default=default(False), help="the worker of `make run`")
    parser.add_argument("--deployed", action="store_true", default=default(False), help="the deployed worker")
    parser.add_argument("--project", default=default(None), help="Google Cloud project of the deployed worker")
    parser.add_argument("--region", default=default(None), help="its region (default europe-west1)")
    parser.add_argument("--url", default=default(None), help="the worker's base URL, when not the usual one")
    parser.add_argument("--tz", default=default(None), help="the household's time zone (default: the worker's)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, clock: Clock | None = None) -> int:
    """Run one command; 0 when done, 1 when the worker or gcloud failed, 2 when what was typed is wrong."""
    args = build_parser().parse_args(argv)
    run = commands.Run(args, os.environ if env is None else env, clock or SystemClock())
    try:
        args.handler(run)
    except CliError as error:
        print(f"{PROG}: {' '.join(error.message.splitlines())}", file=sys.stderr)  # one line, whatever we were told
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
