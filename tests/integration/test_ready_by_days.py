"""READY_BY_DAYS end to end: on the eve of a day off the car charges in the next day's cheap hours, and the
recurring home schedule fires on the day it was planned for, not a day early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from shared.domain.prices import PriceInterval
from shared.prices.factory import build_price_source
from simulator import price_data
from simulator.harness import System, simulation_env

WARSAW = ZoneInfo("Europe/Warsaw")
FRIDAY_EVENING = datetime(2026, 2, 27, 17, 37, tzinfo=WARSAW)


def sunny_saturday() -> list[PriceInterval]:
    """Hourly PLN/kWh for the week: nights 0.40, days 0.60, Saturday 11:00-15:00 free (as TGE on 28 Feb 2026)."""
    hour = datetime(2026, 2, 23, tzinfo=WARSAW).astimezone(UTC)
    series = []
    while hour < datetime(2026, 3, 3, tzinfo=UTC):
        local = hour.astimezone(WARSAW)
        price = 0.40 if local.hour < 6 or local.hour >= 22 else 0.60
        if local.weekday() == 5 and 11 <= local.hour < 15:
            price = 0.0
        series.append(PriceInterval(hour, hour + timedelta(hours=1), price))
        hour += timedelta(hours=1)
    return series


@pytest.mark.parametrize(("days", "charged_hours"), [("workdays", (11, 15)), ("daily", (0, 6))])
def test_the_car_charges_on_the_day_the_plan_chose(
    make_system: Callable[..., System], tmp_path: Path, days: str, charged_hours: tuple[int, int]
) -> None:
    env = simulation_env(
        tmp_path / "env", OFFPEAK_SOURCE="feed", OFFPEAK_API_URL=price_data.FEED_URL, READY_BY_DAYS=days
    )
    system = make_system(FRIDAY_EVENING, env=env, vehicle={"battery_level": 60, "charge_limit": 80, "asleep": False})
    system.apps[price_data.FEED_HOST] = price_data.feed_app(sunny_saturday(), system.clock, WARSAW)
    # The worker fetches the feed through the in-process HTTP (as the month does), not the network.
    system.services.price_source_factory = lambda: build_price_source(
        system.settings, system.clock, session=system.http
    )
    assert system.scout_tick()["worker_triggered"] is True  # first sighting, plugged in at home: planned
    system.advance(timedelta(hours=24), scout_every=15)  # Friday night and Saturday, at home all along
    charged = system.sim.charge_log(system.vin)
    assert charged, "the car never charged"
    first, last = charged_hours  # Saturday's free hours, or the night before READY_BY's margin
    for start, end, _ in charged:
        assert datetime(2026, 2, 28, first, tzinfo=WARSAW) <= start <= end <= datetime(2026, 2, 28, last, tzinfo=WARSAW)
    assert system.sim.snapshot(system.vin)["battery_level"] == pytest.approx(80, abs=0.5)
    assert system.sim.unscheduled_charging(system.vin) == []
