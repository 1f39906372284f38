"""A Tesla Fleet API simulator: token rotation, sleep and wake, charging by schedule, billing counters.

In-process: `serve_in_thread(TeslaSim(clock, refresh_token=...))`; standalone:
`python -m simulator.tesla_sim --port 8090 --vin VIN --refresh-token TOKEN`.
"""

from simulator.tesla_sim.app import create_app
from simulator.tesla_sim.faults import Fault, FaultBook
from simulator.tesla_sim.model import PRICE_USD, RequestRecord, SimConfig, SimError, TeslaSim
from simulator.tesla_sim.server import RunningSim, serve_in_thread
from simulator.tesla_sim.vehicle import VehicleSpec

__all__ = [
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
