"""Two processes signing for one car at once never present the same counter (the car would refuse a replay).

Each process builds the worker's VehicleApi on the same SQLite store (as two Cloud Run instances
share Firestore) and sends commands as fast as it can; the simulated car checks every counter
with the reference verifier's sliding window and counts each refusal.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from shared.clock import SystemClock
from simulator.tesla_sim import SimConfig, TeslaSim, serve_in_thread
from tests.support.worker_processes import HOME, VIN, command_key_pem

COMMANDS_PER_PROCESS = 25


def _sign_many(
    state_dir: str, sim_url: str, access_token: str, offset: int, out: multiprocessing.Queue, start: object
) -> None:
    from shared.adapters.local.sqlite_store import SqliteDocumentStore
    from shared.settings import load_settings
    from shared.tesla.command_key import load_command_key
    from shared.tesla.vehicle_api import CommandKeyCache, build_vehicle_api
    from tests.fakes.stores import InMemorySecretStore

    class Fixed:
        def get_access_token(self, force_refresh: bool = False, *, stale_token: str | None = None) -> str:
            return access_token

    env = {"BACKEND": "local", "STATE_DIR": state_dir, "TESLA_VIN": VIN, "TESLA_API_BASE_URL": sim_url}
    settings = load_settings(env)
    clock = SystemClock()
    store = SqliteDocumentStore(Path(state_dir) / "documents.sqlite3")
    key = CommandKeyCache(lambda: load_command_key(settings, InMemorySecretStore()), clock)
    api = build_vehicle_api(settings, Fixed(), store, clock, key)
    api.profile(VIN)  # fleet_status cached: the race below is about counters only
    start.wait(30)  # type: ignore[attr-defined]
    results = [api.set_charge_limit(VIN, 50 + (offset + i) % 50)["result"] for i in range(COMMANDS_PER_PROCESS)]
    out.put(results)


def test_two_processes_signing_for_one_car_never_reuse_a_counter(tmp_path: Path) -> None:
    sim = TeslaSim(SystemClock(), refresh_token="rt", config=SimConfig(idle_sleep_s=3600))
    sim.add_vehicle(VIN, asleep=False, charge_limit=80, latitude=HOME[0], longitude=HOME[1])
    sim.register_app_key(command_key_pem(tmp_path))
    grant = sim.token({"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt"})
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    with serve_in_thread(sim) as running:
        # One process first, so both start from the stored session (the race under test is the counter).
        alone, together = ctx.Barrier(1), ctx.Barrier(2)
        first = ctx.Process(target=_sign_many, args=(str(tmp_path), running.url, grant["access_token"], 0, out, alone))
        first.start()
        first.join(60)
        racers = [
            ctx.Process(target=_sign_many, args=(str(tmp_path), running.url, grant["access_token"], n, out, together))
            for n in (1, 2)
        ]
        for p in racers:
            p.start()
        for p in racers:
            p.join(60)
        results = [out.get(timeout=5) for _ in range(3)]
    assert all(p.exitcode == 0 for p in [first, *racers])
    assert all(all(r is not None for r in batch) for batch in results)
    assert sim.protocol_faults(VIN) == {}  # not one replayed, expired or badly signed message
    assert sim.counters()["handshakes"] == 1
    signed = [r for r in sim.requests() if r.path.endswith("/signed_command") and r.signed_command]
    assert len(signed) == 3 * COMMANDS_PER_PROCESS
