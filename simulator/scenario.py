"""The household a simulation runs: car, places, commute, weekend trips, plug-in habits, special needs, prices.

A scenario is a YAML file (`simulator/scenarios/*.yaml`); `load_scenario` checks it and names the
first bad field. Times are local wall times in the scenario's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from shared.domain.ready_by import DAY_NAMES

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
DEFAULT_SCENARIO = SCENARIOS / "commuter.yaml"
# Price sets: an energy price, and with `+operator:tariff` the owner's price on it (OFFPEAK_DISTRIBUTION).
PRICE_SOURCES = ("g12w", "tge", "tge+tauron:G12w", "rce", "rce+tauron:G12w")


class ScenarioError(ValueError):
    """The scenario file is unusable; the message names the field."""


@dataclass(frozen=True)
class Place:
    """A position (degrees)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Car:
    """The simulated car and the energy model the planner is told about (the same numbers)."""

    battery_level: float = 60.0
    charge_limit: int = 80
    capacity_kwh: float = 75.0
    charger_power_kw: float = 11.0
    efficiency: float = 0.9
    consumption_kwh_per_km: float = 0.17
    plugged_in: bool = True


@dataclass(frozen=True)
class Commute:
    """Weekday trips to work and back (public holidays are days off)."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    leave: time = time(7, 30)
    leave_jitter_minutes: int = 15
    come_back: time = time(17, 0)
    come_back_jitter_minutes: int = 30
    drive_minutes: int = 30
    km: float = 25.0


@dataclass(frozen=True)
class WeekendTrips:
    """Days off: with some probability a trip of random length."""

    probability: float = 0.6
    leave: time = time(10, 0)
    leave_jitter_minutes: int = 90
    hours: tuple[float, float] = (3.0, 8.0)
    km: tuple[float, float] = (30.0, 160.0)
    drive_minutes: int = 45


@dataclass(frozen=True)
class PlugIn:
    """Plugging in at home on arrival, with some probability, a few minutes after parking."""

    probability: float = 0.85
    delay_minutes: tuple[int, int] = (1, 10)


@dataclass(frozen=True)
class SpecialNeed:
    """An early departure: registered the evening before, leaves at `departure` on day `day` (0 = first day)."""

    day: int
    departure: time
    target_soc: int = 90
    km: float = 180.0
    registered: time = time(19, 0)


@dataclass(frozen=True)
class Scenario:
    """Everything the simulation needs to know about the household."""

    name: str = "commuter"
    start: date = date(2026, 2, 2)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Warsaw"))
    prices: str = "g12w"
    car: Car = field(default_factory=Car)
    home: Place = field(default_factory=lambda: Place(52.2297, 21.0122))
    work: Place = field(default_factory=lambda: Place(52.1650, 20.9670))
    commute: Commute | None = field(default_factory=Commute)
    weekend_trips: WeekendTrips | None = field(default_factory=WeekendTrips)
    plug_in: PlugIn = field(default_factory=PlugIn)
    special_needs: tuple[SpecialNeed, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def with_prices(self, prices: str | None) -> Scenario:
        """The same household on another price set (one of PRICE_SOURCES)."""
        if prices is None:
            return self
        if prices not in PRICE_SOURCES:
            raise ScenarioError(f"prices must be one of {', '.join(PRICE_SOURCES)}")
        return replace(self, prices=prices)


def load_scenario(path: Path | str | None = None) -> Scenario:
    """Read and check a scenario YAML file (the default commuter when path is None)."""
    source = Path(path) if path is not None else DEFAULT_SCENARIO
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"cannot read scenario {source}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"scenario {source} is not valid YAML: {error}") from None
    return scenario_from_dict(raw if raw is not None else {})


def scenario_from_dict(raw: Any) -> Scenario:
    """A Scenario from parsed YAML; ScenarioError naming the first bad field."""
    data = _mapping(raw, "scenario")
    _known(data, "scenario", Scenario.__dataclass_fields__)
    base = Scenario()
    zone_name = _text(data.get("timezone", "Europe/Warsaw"), "timezone")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScenarioError(f"timezone {zone_name!r} is not a known time zone") from None
    prices = _text(data.get("prices", base.prices), "prices")
    if prices not in PRICE_SOURCES:
        raise ScenarioError(f"prices must be one of {', '.join(PRICE_SOURCES)}")
    return Scenario(
        name=_text(data.get("name", base.name), "name"),
        start=_date(data.get("start", base.start), "start"),
        timezone=zone,
        prices=prices,
        car=_car(data.get("car", {})),
        home=_place(data.get("home"), "home", base.home),
        work=_place(data.get("work"), "work", base.work),
        commute=None if data.get("commute", {}) is None else _commute(data.get("commute", {})),
        weekend_trips=None if data.get("weekend_trips", {}) is None else _weekend(data.get("weekend_trips", {})),
        plug_in=_plug_in(data.get("plug_in", {})),
        special_needs=tuple(_need(item, i) for i, item in enumerate(_list(data.get("special_needs", []), "needs"))),
        env={str(k): str(v) for k, v in _mapping(data.get("env", {}), "env").items()},
    )


def _car(raw: Any) -> Car:
    data = _mapping(raw, "car")
    _known(data, "car", Car.__dataclass_fields__)
    d = Car()
    car = Car(
        battery_level=_number(data.get("battery_level", d.battery_level), "car.battery_level", 0, 100),
        charge_limit=int(_number(data.get("charge_limit", d.charge_limit), "car.charge_limit", 50, 100)),
        capacity_kwh=_number(data.get("capacity_kwh", d.capacity_kwh), "car.capacity_kwh", 10, 200),
        charger_power_kw=_number(data.get("charger_power_kw", d.charger_power_kw), "car.charger_power_kw", 1, 50),
        efficiency=_number(data.get("efficiency", d.efficiency), "car.efficiency", 0.5, 1),
        consumption_kwh_per_km=_number(
            data.get("consumption_kwh_per_km", d.consumption_kwh_per_km), "car.consumption_kwh_per_km", 0.05, 0.5
        ),
        plugged_in=_bool(data.get("plugged_in", d.plugged_in), "car.plugged_in"),
    )
    return car


def _commute(raw: Any) -> Commute:
    data = _mapping(raw, "commute")
    _known(data, "commute", Commute.__dataclass_fields__)
    d = Commute()
    days = _list(data.get("days", [DAY_NAMES[i] for i in d.days]), "commute.days")
    try:
        numbers = tuple(DAY_NAMES.index(str(day).lower()[:3]) for day in days)
    except ValueError:
        raise ScenarioError(f"commute.days must be day names ({', '.join(DAY_NAMES)})") from None
    return Commute(
        days=numbers,
        leave=_time(data.get("leave", d.leave), "commute.leave"),
        leave_jitter_minutes=int(_number(data.get("leave_jitter_minutes", d.leave_jitter_minutes), "jitter", 0, 180)),
        come_back=_time(data.get("come_back", d.come_back), "commute.come_back"),
        come_back_jitter_minutes=int(
            _number(data.get("come_back_jitter_minutes", d.come_back_jitter_minutes), "jitter", 0, 180)
        ),
        drive_minutes=int(_number(data.get("drive_minutes", d.drive_minutes), "commute.drive_minutes", 2, 240)),
        km=_number(data.get("km", d.km), "commute.km", 0, 500),
    )


def _weekend(raw: Any) -> WeekendTrips:
    data = _mapping(raw, "weekend_trips")
    _known(data, "weekend_trips", WeekendTrips.__dataclass_fields__)
    d = WeekendTrips()
    return WeekendTrips(
        probability=_number(data.get("probability", d.probability), "weekend_trips.probability", 0, 1),
        leave=_time(data.get("leave", d.leave), "weekend_trips.leave"),
        leave_jitter_minutes=int(_number(data.get("leave_jitter_minutes", d.leave_jitter_minutes), "jitter", 0, 300)),
        hours=_range(data.get("hours", list(d.hours)), "weekend_trips.hours", 0.5, 14),
        km=_range(data.get("km", list(d.km)), "weekend_trips.km", 0, 600),
        drive_minutes=int(_number(data.get("drive_minutes", d.drive_minutes), "weekend_trips.drive_minutes", 2, 240)),
    )


def _plug_in(raw: Any) -> PlugIn:
    data = _mapping(raw, "plug_in")
    _known(data, "plug_in", PlugIn.__dataclass_fields__)
    d = PlugIn()
    low, high = _range(data.get("delay_minutes", list(d.delay_minutes)), "plug_in.delay_minutes", 0, 120)
    return PlugIn(
        probability=_number(data.get("probability", d.probability), "plug_in.probability", 0, 1),
        delay_minutes=(int(low), int(high)),
    )


def _need(raw: Any, index: int) -> SpecialNeed:
    where = f"special_needs[{index}]"
    data = _mapping(raw, where)
    _known(data, where, SpecialNeed.__dataclass_fields__)
    if "day" not in data or "departure" not in data:
        raise ScenarioError(f"{where} needs `day` and `departure`")
    day = int(_number(data["day"], f"{where}.day", 1, 3660))
    return SpecialNeed(
        day=day,
        departure=_time(data["departure"], f"{where}.departure"),
        target_soc=int(_number(data.get("target_soc", 90), f"{where}.target_soc", 50, 100)),
        km=_number(data.get("km", 180.0), f"{where}.km", 0, 800),
        registered=_time(data.get("registered", time(19, 0)), f"{where}.registered"),
    )


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where} must be a mapping")
    return raw


def _known(data: dict[str, Any], where: str, fields: Any) -> None:
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")


def _list(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise ScenarioError(f"{where} must be a list")
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise ScenarioError(f"{where} must be a non-empty string")
    return raw


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise ScenarioError(f"{where} must be true or false")
    return raw


def _number(raw: Any, where: str, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ScenarioError(f"{where} must be a number")
    if not low <= raw <= high:
        raise ScenarioError(f"{where} must be between {low:g} and {high:g}")
    return float(raw)


def _range(raw: Any, where: str, low: float, high: float) -> tuple[float, float]:
    items = _list(raw, where)
    if len(items) != 2:
        raise ScenarioError(f"{where} must be [low, high]")
    a, b = (_number(x, where, low, high) for x in items)
    if a > b:
        raise ScenarioError(f"{where}: low is above high")
    return a, b


def _date(raw: Any, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ScenarioError(f"{where} must be a date such as 2026-02-02") from None


def _time(raw: Any, where: str) -> time:
    if isinstance(raw, time):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        # YAML 1.1 reads an unquoted 07:30 as the sexagesimal number 450 (minutes).
        if 0 <= raw < 24 * 60:
            return time(raw // 60, raw % 60)
        raise ScenarioError(f'{where} must be a time such as "07:30"')
    try:
        return time.fromisoformat(str(raw))
    except ValueError:
        raise ScenarioError(f'{where} must be a time such as "07:30"') from None


def _place(raw: Any, where: str, default: Place) -> Place:
    if raw is None:
        return default
    data = _mapping(raw, where)
    _known(data, where, Place.__dataclass_fields__)
    return Place(
        latitude=_number(data.get("latitude"), f"{where}.latitude", -90, 90),
        longitude=_number(data.get("longitude"), f"{where}.longitude", -180, 180),
    )
