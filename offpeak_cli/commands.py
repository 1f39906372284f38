"""What each command does: read the arguments, call the worker, print its answer (JSON or lines)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from offpeak_cli import logs, render, render_status
from offpeak_cli.client import WorkerClient
from offpeak_cli.errors import USAGE, CliError
from offpeak_cli.target import deploy_config, deployed_place, deployed_target, local_target, wants_local
from shared.clock import Clock
from shared.domain.targets import parse_target_soc
from shared.domain.when import parse_departure
from shared.errors import ValidationError

DEFAULT_ZONE = "Europe/Warsaw"  # the worker's own default TIMEZONE (contract section 4)


class Run:
    """One invocation: the parsed arguments, the environment, the clock, and the worker client once needed."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str], clock: Clock) -> None:
        self.args, self.env, self.clock = args, env, clock
        self._client: WorkerClient | None = None

    @property
    def local(self) -> bool:
        """True for the worker of `make run`, False for the deployed one."""
        return wants_local(self.args.local, self.args.deployed or bool(self.args.project or self.args.region), self.env)

    @property
    def client(self) -> WorkerClient:
        """The worker client, made on first use (a command that fails on its arguments calls nothing)."""
        if self._client is None:
            if self.local:
                target = local_target(self.env, self.args.url)
            else:
                place = deployed_place(self.args.project, self.args.region, self.env)
                target = deployed_target(place, self.env, self.args.url)
            self._client = WorkerClient(target)
        return self._client

    def zone(self, *, ask_worker: bool = False) -> ZoneInfo:
        """The household's zone: --tz, TIMEZONE, the deploy's config, the worker's /status, else the default."""
        name = self.args.tz or self.env.get("TIMEZONE")
        if not name and not self.local:
            name = deploy_config(self.env).get("TIMEZONE")
        if not name and ask_worker:
            try:
                name = self.client.status().get("timezone")
            except CliError as error:
                if error.status is None or error.status in (401, 403):  # unreachable or refused: say so now
                    raise
        return _zone(str(name or DEFAULT_ZONE))

    def now(self, zone: ZoneInfo) -> datetime:
        """The clock's now in `zone`."""
        return self.clock.now().astimezone(zone)

    def show(self, answer: Any, lines: list[str] | str) -> None:
        """The raw JSON answer with --json, else the human lines."""
        if self.args.json:
            print(json.dumps(answer, indent=2, ensure_ascii=False))
        else:
            print(lines if isinstance(lines, str) else "\n".join(lines))


def need_add(run: Run) -> None:
    """Register a need, then show the plan the worker would make for it now."""
    try:
        target_soc = parse_target_soc(run.args.target)
    except ValidationError as error:
        raise CliError(error.message, exit_code=USAGE) from None
    zone = run.zone(ask_worker=True)
    try:
        departure = parse_departure(run.args.by, run.clock.now(), zone)
    except ValueError as error:
        raise CliError(f"--by: {error}", exit_code=USAGE) from None
    if departure.note:
        print(f"note: {departure.note}", file=sys.stderr)
    need = run.client.add_need(target_soc, departure.at.isoformat()).get("need") or {}
    plan, problem = None, None
    try:
        plan = run.client.plan_preview(target_soc, departure.at.isoformat()).get("plan")
    except CliError as error:  # the need stands; only the preview is missing (e.g. the car is asleep)
        problem = error.message
    answer = {"need": need, "plan": plan, **({"plan_error": problem} if problem else {})}
    run.show(answer, render.need_added(need, plan, problem, run.now(zone)))


def need_list(run: Run) -> None:
    """Every need the worker holds."""
    answer = run.client.list_needs()
    run.show(answer, render.needs(answer, run.now(run.zone())))


def need_cancel(run: Run) -> None:
    """Cancel one need (and its session and jobs)."""
    answer = run.client.cancel_need(run.args.need_id)
    run.show(answer, render.cancelled(answer, run.now(run.zone())))


def plan(run: Run) -> None:
    """Tonight's plan: windows, kWh, estimated cost, the saving against charging on arrival."""
    answer = run.client.status()
    run.show(answer, render_status.tonight(answer, _status_now(run, answer)))


def status(run: Run) -> None:
    """The car, sessions, jobs, token health, signing and pairing, the last failures."""
    answer = run.client.status()
    run.show(answer, render_status.status(answer, _status_now(run, answer)))


def check(run: Run) -> None:
    """Run the daily special-charging check now (the 23:00 job's work)."""
    answer = run.client.daily_check()
    run.show(answer, render.daily_check(answer, run.now(run.zone())))


def read_logs(run: Run) -> None:
    """The logs: a saved local log with --file, the deployed services' through gcloud, else where they are."""
    args = run.args
    if args.file:
        now = run.now(run.zone())
        logs.read_file(Path(args.file), args.since, args.component, args.severity, args.limit, args.json, now)
    elif run.local:
        raise CliError(logs.LOCAL_HINT)
    else:
        place = deployed_place(args.project, args.region, run.env)
        logs.read_cloud(place, args.since, args.component, args.severity, args.limit, args.json, run.env)


def _status_now(run: Run, answer: dict[str, Any]) -> datetime:
    """The worker's own 'now' in its own zone, so the lines agree with what it planned."""
    zone = run.zone() if run.args.tz or not answer.get("timezone") else _zone(str(answer["timezone"]))
    try:
        return datetime.fromisoformat(str(answer.get("now"))).astimezone(zone)
    except ValueError:
        return run.now(zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {name!r}: use an IANA name such as Europe/Warsaw", exit_code=USAGE) from None
