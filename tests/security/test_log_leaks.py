"""No secret and no coordinate ever reaches a log line.

A whole night runs on the harness (worker, scout, embedded scheduler, Tesla simulator) with every
logger at DEBUG: token bootstrap, refreshes (also after a 401), a special session's two jobs, a
Tesla outage, scout ticks away from home and back. Each record is checked twice: as the JSON line
the formatter writes (what Cloud Logging would keep) and as the raw message and fields before any
redaction (the code must not rely on the redaction filter).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.log import JsonFormatter
from simulator.harness import API_TOKEN, BOOTSTRAP_REFRESH, System, simulation_env

CLIENT_SECRET = "sim-client-secret-do-not-log-0123456789"
HOME = ("52.22971", "21.01223")
AWAY = ("52.40637", "16.92517")  # Poznań: 280 km from home
NIGHT = datetime(2026, 11, 23, 20, 0)


@dataclass
class Captured:
    """Every record logged while capturing: the emitted JSON line and the unredacted text."""

    lines: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    def containing(self, needle: str) -> list[str]:
        return [text for text in self.lines + self.raw if needle in text]


class _Collector(logging.Handler):
    def __init__(self, captured: Captured) -> None:
        super().__init__(level=logging.DEBUG)
        self.captured = captured
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.captured.lines.append(self.format(record))
        raw = record.getMessage()
        fields = getattr(record, "fields", None)
        if fields:
            raw += " " + json.dumps(fields, default=str)
        if record.exc_info and record.exc_info[1] is not None:
            raw += " " + repr(record.exc_info[1])
        self.captured.raw.append(raw)


@contextmanager
def every_log_line() -> Iterator[Captured]:
    """Capture every record of every logger at DEBUG (libraries included) until the block ends."""
    captured = Captured()
    handler = _Collector(captured)
    root = logging.getLogger()
    loggers = [root] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)


def issued_secrets(system: System) -> list[str]:
    """Record every token the simulated Tesla hands out from now on."""
    issued: list[str] = []
    original = system.sim.token

    def recording(form: Any) -> dict[str, Any]:
        answer = original(form)
        issued.extend(str(answer[k]) for k in ("access_token", "refresh_token", "id_token"))
        return answer

    system.sim.token = recording  # type: ignore[method-assign]
    return issued


def night_system(make_system: Callable[..., System], tmp_path: Path) -> System:
    env = simulation_env(
        tmp_path / "state",
        TESLA_CLIENT_SECRET=CLIENT_SECRET,
        HOME_LATITUDE=HOME[0],
        HOME_LONGITUDE=HOME[1],
    )
    car = {
        "latitude": float(HOME[0]),
        "longitude": float(HOME[1]),
        "battery_level": 40,
        "plugged_in": True,
        "asleep": False,
    }
    return make_system(NIGHT, env=env, vehicle=car)


def test_no_token_or_secret_reaches_any_log_line_in_a_whole_night(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = night_system(make_system, tmp_path)
    issued = issued_secrets(system)
    with every_log_line() as logs:
        system.scout_tick()  # bootstraps the token record and refreshes for the first time
        system.call_worker(
            "POST", "/special-charging-needs", {"target_soc": 90, "departure": "2026-11-24T06:00:00+01:00"}
        )
        system.advance(timedelta(hours=3))
        system.call_worker("POST", "/daily-special-charging-check")
        system.sim.expire_access_tokens()  # the next call gets a 401 and refreshes on the spot
        system.sim.faults.add("*/vehicle_data", status=503, count=2)
        system.advance(timedelta(hours=4))
        system.call_worker("GET", "/get-token")
        system.call_worker("POST", "/refresh-tokens", {"reason": "log test"})
        system.call_worker("POST", "/run-cycle")
        system.advance(timedelta(hours=6))  # past the 8 h access token: refreshed again
        system.call_worker("GET", "/get-token")
        system.call_worker("GET", "/special-charging-sessions")
    assert system.sim.counters()["token_refreshes"] >= 3 and len(issued) >= 9
    assert len(logs.lines) > 50
    assert system.sim.counters()["handshakes"] >= 1  # commands were signed with the owner's key
    secrets = [*issued, BOOTSTRAP_REFRESH, CLIENT_SECRET, API_TOKEN, *command_key_material(system)]
    for secret in secrets:
        assert logs.containing(secret) == [], f"a secret ({secret[:6]}…) reached a log line"
    for secret in secrets:  # not even a recognisable piece of one
        assert logs.containing(secret[-16:]) == []


def command_key_material(system: System) -> list[str]:
    """The command key's private scalar (hex and base64 lines of its PEM) and the session key K."""
    from shared.tesla.command_key import local_key_path
    from shared.tesla.command_protocol import derive_shared_key, load_private_key

    pem = local_key_path(system.settings).read_bytes()
    key = load_private_key(pem)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    lines = [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]
    session = system.services.store.get("command_sessions", f"{system.vin}-infotainment") or {}
    shared = derive_shared_key(key, bytes.fromhex(session["vehicle_public_key"])) if session else b""
    assert shared  # the night signed something
    return [scalar.hex(), *lines, shared.hex()]


def leave_and_come_back(system: System) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scout ticks while the car sleeps, wakes up 280 km away, sleeps, and wakes up at home again."""
    ticks = []
    for place in (AWAY, HOME):
        system.sim.force_sleep(system.vin)
        system.clock.advance(timedelta(minutes=15))
        system.scout_tick()
        system.sim.drive(system.vin)
        system.sim.park(system.vin, float(place[0]), float(place[1]))
        system.clock.advance(timedelta(minutes=5))
        ticks.append(system.scout_tick())
    return ticks[0], ticks[1]


def test_coordinates_never_reach_a_log_line_of_a_scout_tick_or_a_cycle(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = night_system(make_system, tmp_path)
    with every_log_line() as logs:
        system.scout_tick()  # at home, first detection: the worker's cycle runs and sends a schedule
        away, back = leave_and_come_back(system)
        system.call_worker("POST", "/run-cycle")
        system.call_worker("POST", "/scout-trigger", {"reason": "arrived_home", "vin": system.vin})
    assert away["at_home"] is False and back["at_home"] is True and back["worker_triggered"] is True
    assert system.sim.counters()["commands"] >= 1  # a schedule (which carries lat/lon) was sent
    assert any("m from home" in line for line in logs.lines)  # distance is what gets logged
    for value in (*HOME, *AWAY):
        for digits in (value, value[:7], value.replace(".", "")[:6]):
            assert logs.containing(digits) == [], f"coordinate digits {digits} reached a log line"
