"""`python -m simulator.tesla_sim --port 8090 --vin VIN --refresh-token TOKEN`: the simulator on its own.

Runs on the system clock; prints one line with its URL, then serves until interrupted. Cars are
today's (`--car-preset`, presets.py); `--app-public-key PEM_FILE` enrolls the app's key on them.
"""

from __future__ import annotations

import argparse
import sys

from werkzeug.serving import make_server

from shared.clock import SystemClock
from simulator.tesla_sim.access_tokens import TOKEN_FORMATS
from simulator.tesla_sim.app import create_app
from simulator.tesla_sim.model import SimConfig, TeslaSim
from simulator.tesla_sim.presets import PRESETS
from simulator.tesla_sim.regions import BASE_URLS
from simulator.tesla_sim.scopes import DEFAULT_SCOPES

DEFAULT_REFRESH_TOKEN = "sim-initial-refresh-token"
DEFAULT_VIN = "5YJ3E7EB2NF000001"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulator.tesla_sim", description="Tesla Fleet API simulator")
    p.add_argument("--host", default="127.0.0.1", help="bind address (keep it on loopback)")
    p.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    p.add_argument("--vin", action="append", help="a car (repeat or comma-separate for several)")
    p.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN, help="the one initial refresh token")
    p.add_argument("--client-id", default=None, help="require this client_id at the token endpoint")
    p.add_argument("--latitude", type=float, default=52.2297)
    p.add_argument("--longitude", type=float, default=21.0122)
    p.add_argument("--battery-level", type=float, default=50.0)
    p.add_argument("--charge-limit", type=int, default=80)
    p.add_argument("--plugged-in", action="store_true")
    p.add_argument("--awake", action="store_true", help="start online instead of asleep")
    p.add_argument(
        "--signed-commands",
        action="store_true",
        default=None,
        help="cars need signed commands (already so for every preset but legacy_model_s)",
    )
    p.add_argument("--car-preset", default="modern", choices=sorted(PRESETS), help="what kind of car")
    p.add_argument("--firmware", default=None, help="firmware version, e.g. 2024.44.25 (default: the preset's)")
    p.add_argument("--app-public-key", default=None, help="PEM file of the app's public key, enrolled on paired cars")
    p.add_argument("--account-region", default="eu", choices=sorted(BASE_URLS))
    p.add_argument("--served-region", default="eu", choices=sorted(BASE_URLS), help="421 when not the account's")
    p.add_argument("--scopes", default=" ".join(DEFAULT_SCOPES), help="granted scopes, space-separated")
    p.add_argument("--token-format", default="jwt", choices=TOKEN_FORMATS, help="access tokens as JWTs or opaque")
    p.add_argument(
        "--refresh-kills-access-tokens",
        action="store_true",
        help="a refresh invalidates older access tokens (Tesla's 2024-02-01 notice, unconfirmed)",
    )
    p.add_argument("--time-zone", default="Europe/Warsaw")
    p.add_argument("--token-ttl-s", type=int, default=28800)
    p.add_argument("--idle-sleep-s", type=float, default=900.0)
    p.add_argument("--wake-delay-s", type=float, default=20.0)
    p.add_argument(
        "--schedule-reading",
        choices=("every_day", "covered_days"),
        default="every_day",
        help="whether a day no charge schedule covers charges at once on plug-in (covered_days) or not",
    )
    return p.parse_args(argv)


def build_sim(args: argparse.Namespace) -> TeslaSim:
    """The TeslaSim the arguments describe, on the system clock."""
    config = SimConfig(
        access_token_ttl_s=args.token_ttl_s,
        idle_sleep_s=args.idle_sleep_s,
        wake_delay_s=args.wake_delay_s,
        access_token_format=args.token_format,
        scopes=tuple(args.scopes.replace(",", " ").split()),
        refresh_invalidates_access_tokens=args.refresh_kills_access_tokens,
        account_region=args.account_region,
        served_region=args.served_region,
        schedule_reading=args.schedule_reading,
    )
    sim = TeslaSim(SystemClock(), refresh_token=args.refresh_token, client_id=args.client_id, config=config)
    if args.app_public_key:
        with open(args.app_public_key, "rb") as pem:
            sim.register_app_key(pem.read())
    overrides: dict[str, object] = {}
    if args.signed_commands is not None:
        overrides["requires_signed_commands"] = True
    if args.firmware is not None:
        overrides["firmware_version"] = args.firmware
    vins = [v.strip() for item in (args.vin or [DEFAULT_VIN]) for v in item.split(",") if v.strip()]
    for vin in vins:
        sim.add_vehicle(
            vin,
            preset=args.car_preset,
            latitude=args.latitude,
            longitude=args.longitude,
            battery_level=args.battery_level,
            charge_limit=args.charge_limit,
            plugged_in=args.plugged_in,
            asleep=not args.awake,
            time_zone=args.time_zone,
            **overrides,
        )
    return sim


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = make_server(args.host, args.port, create_app(build_sim(args)), threaded=True)
    print(f"Tesla Fleet API simulator listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
