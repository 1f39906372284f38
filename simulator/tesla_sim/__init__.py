"""A Tesla Fleet API simulator: token rotation, sleep and wake, charging by schedule, billing counters,
and today's cars: signed commands (the car's side of the Vehicle Command Protocol), key pairing,
fleet_status, regions and token scopes.

In-process: `serve_in_thread(TeslaSim(clock, refresh_token=...))`, then
`sim.register_app_key(public_key_pem)`; standalone:
`python -m simulator.tesla_sim --port 8090 --vin VIN --refresh-token TOKEN --app-public-key PEM_FILE`.
"""

from simulator.tesla_sim.app import create_app
from simulator.tesla_sim.faults import Fault, FaultBook
from simulator.tesla_sim.model import PRICE_USD, RequestRecord, SimConfig, SimError, TeslaSim
from simulator.tesla_sim.presets import PRESETS
from simulator.tesla_sim.server import RunningSim, serve_in_thread
from simulator.tesla_sim.vehicle import VehicleSpec

__all__ = [
    "PRESETS",
    "PRICE_USD",
    "Fault",
    "FaultBook",
    "RequestRecord",
    "RunningSim",
    "SimConfig",
    "SimError",
    "TeslaSim",
    "VehicleSpec",
    "create_app",
    "serve_in_thread",
]
