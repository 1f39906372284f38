"""Scenario files and the household's events they turn into."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from simulator.household import household_events
from simulator.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, SpecialNeed, load_scenario, scenario_from_dict


def test_the_default_scenario_loads_with_its_four_early_departures() -> None:
    scenario = load_scenario()
    assert scenario.name == "commuter" and scenario.prices == "g12w"
    assert scenario.start == date(2026, 2, 2) and scenario.start.weekday() == 0
    assert scenario.commute is not None and scenario.commute.leave == time(7, 30)
    assert [n.day for n in scenario.special_needs] == [1, 9, 17, 24]
    assert all(50 <= n.target_soc <= 100 for n in scenario.special_needs)


def test_every_bundled_scenario_loads() -> None:
    for path in sorted(DEFAULT_SCENARIO.parent.glob("*.yaml")):
        assert load_scenario(path).name == path.stem


def test_times_may_be_quoted_or_yaml_sexagesimal_numbers() -> None:
    # YAML 1.1 reads an unquoted 07:30 as 450 (minutes); both spellings mean the same wall time.
    quoted = scenario_from_dict({"commute": {"leave": "07:30"}})
    bare = scenario_from_dict({"commute": {"leave": 450}})
    assert quoted.commute is not None and bare.commute is not None
    assert quoted.commute.leave == bare.commute.leave == time(7, 30)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"prices": "spot"}, "prices"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"car": {"charge_limit": 40}}, "car.charge_limit"),
        ({"car": {"wheels": 4}}, "wheels"),
        ({"commute": {"days": ["funday"]}}, "commute.days"),
        ({"special_needs": [{"day": 2}]}, "special_needs[0]"),
        ({"special_needs": [{"day": 2, "departure": "25:00"}]}, "special_needs[0].departure"),
        ({"plug_in": {"probability": 1.5}}, "plug_in.probability"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_a_bad_field_is_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ScenarioError, match=named.replace("[", r"\[").replace("]", r"\]")):
        scenario_from_dict(raw)


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.yaml")


def test_household_events_are_the_same_for_a_seed_and_differ_between_seeds() -> None:
    scenario = load_scenario()
    first = household_events(scenario, 10, seed=7)
    assert first == household_events(scenario, 10, seed=7)
    assert first != household_events(scenario, 10, seed=8)
    assert [e.at for e in first] == sorted(e.at for e in first)


def test_a_workday_drives_to_work_and_back() -> None:
    scenario = replace(load_scenario(), special_needs=())
    monday = [e for e in household_events(scenario, 1, seed=1) if e.day == 0]
    kinds = [e.kind for e in monday if e.kind != "plug"]
    assert kinds == ["depart", "en_route", "arrive", "depart", "en_route", "arrive"]
    assert monday[2].place == "work" and monday[5].place == "home"
    assert monday[2].km == monday[5].km == 25  # each way
    local = monday[0].at.astimezone(scenario.timezone)
    assert time(7, 15) <= local.time() <= time(7, 45)


def test_an_early_departure_is_asked_for_the_evening_before_and_the_car_is_plugged_in() -> None:
    need = SpecialNeed(day=1, departure=time(5, 30), target_soc=90, km=200, registered=time(19, 0))
    scenario = replace(load_scenario(), special_needs=(need,), plug_in=replace(load_scenario().plug_in, probability=0))
    events = household_events(scenario, 2, seed=1)
    asked = [e for e in events if e.kind == "register_need"]
    assert len(asked) == 1 and asked[0].need == need
    assert asked[0].at.astimezone(scenario.timezone).time() == time(19, 0) and asked[0].day == 0
    assert [e.day for e in events if e.kind == "plug"] == [0]  # only that evening, though the habit says never
    leaving = next(e for e in events if e.kind == "depart" and e.day == 1)
    assert leaving.need == need and leaving.at.astimezone(scenario.timezone).time() == time(5, 30)


def test_a_public_holiday_is_a_day_off() -> None:
    # 2026-01-06 (Epiphany) is a Tuesday and a Polish public holiday: no commute that day.
    scenario: Scenario = replace(load_scenario(), start=date(2026, 1, 6), special_needs=(), weekend_trips=None)
    assert household_events(scenario, 1, seed=1) == []
    workday = replace(scenario, start=date(2026, 1, 7))
    assert any(e.place == "work" for e in household_events(workday, 1, seed=1))


def test_two_needs_on_one_day_are_refused() -> None:
    need = SpecialNeed(day=1, departure=time(6, 0))
    scenario = replace(load_scenario(), special_needs=(need, replace(need, departure=time(7, 0))))
    with pytest.raises(ScenarioError, match="two special needs on day 1"):
        household_events(scenario, 3, seed=1)


def test_days_are_independent_of_each_other() -> None:
    scenario = load_scenario()
    short = household_events(scenario, 3, seed=5)
    longer = household_events(scenario, 6, seed=5)
    cut = scenario.start + timedelta(days=3)
    assert [e for e in longer if e.day < 3] == [e for e in short if e.day < 3]
    assert all(e.at.astimezone(scenario.timezone).date() <= cut for e in short)
