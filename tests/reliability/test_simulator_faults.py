"""The simulator's fault model the reliability tests rely on: the refresh-token grace and lost answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from shared.clock import ManualClock
from simulator.tesla_sim import SimConfig, SimError, TeslaSim, create_app

VIN = "5YJ3E7EB2NF000001"
START = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
FORM = {"grant_type": "refresh_token", "client_id": "app"}


def make_sim(**config: bool) -> TeslaSim:
    sim = TeslaSim(ManualClock(START), refresh_token="rt-0", config=SimConfig(**config))
    sim.add_vehicle(VIN, preset="legacy_model_s", asleep=False, charge_limit=80)  # REST commands, unsigned
    return sim


def refresh(sim: TeslaSim, token: str) -> dict[str, str]:
    return {k: str(v) for k, v in sim.token({**FORM, "refresh_token": token}).items()}


def rejected(sim: TeslaSim, token: str) -> bool:
    try:
        sim.token({**FORM, "refresh_token": token})
    except SimError as error:
        assert error.status == 401 and error.body()["error"] == "invalid_grant"
        return True
    return False


def test_the_old_refresh_token_works_until_the_new_access_token_is_first_used() -> None:
    sim = make_sim()
    first = refresh(sim, "rt-0")
    assert sim.account.usable_refresh_tokens() == {"rt-0", first["refresh_token"]}
    sim.authenticate(first["access_token"])  # first use of the new pair
    assert rejected(sim, "rt-0")
    assert sim.account.usable_refresh_tokens() == {first["refresh_token"]}


def test_the_old_refresh_token_dies_when_the_new_refresh_token_is_used() -> None:
    sim = make_sim()
    first = refresh(sim, "rt-0")
    second = refresh(sim, first["refresh_token"])
    assert rejected(sim, "rt-0")
    assert sim.account.live_refresh_tokens() == 1
    sim.authenticate(second["access_token"])
    assert rejected(sim, first["refresh_token"])


def test_reusing_the_old_token_before_the_new_pair_is_used_supersedes_that_pair() -> None:
    sim = make_sim()
    lost = refresh(sim, "rt-0")  # e.g. the refresher died before storing this answer
    again = refresh(sim, "rt-0")
    with pytest.raises(SimError):
        sim.authenticate(lost["access_token"])  # the one access token a crash may cost
    assert rejected(sim, lost["refresh_token"])
    sim.authenticate(again["access_token"])
    assert sim.account.usable_refresh_tokens() == {again["refresh_token"]}
    assert sim.counters()["superseded_refreshes"] == 1 and sim.counters()["token_refreshes"] == 2


def test_without_the_grace_the_old_token_dies_at_the_refresh() -> None:
    sim = make_sim(refresh_grace=False)
    refresh(sim, "rt-0")
    assert rejected(sim, "rt-0")


@pytest.fixture
def client() -> tuple[TeslaSim, FlaskClient]:
    sim = make_sim()
    return sim, create_app(sim).test_client()


def test_a_lost_answer_lets_the_command_act_but_answers_the_fault(client: tuple[TeslaSim, FlaskClient]) -> None:
    sim, http = client
    token = refresh(sim, "rt-0")["access_token"]
    sim.faults.add("*/command/set_charge_limit", status=504, lose_answer=True)
    answer = http.post(
        f"/api/1/vehicles/{VIN}/command/set_charge_limit",
        json={"percent": 90},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 504
    assert sim.snapshot(VIN)["charge_limit"] == 90  # the car changed although the client saw an error
    assert [r.status for r in sim.requests()] == [504]


def test_lost_answers_can_be_armed_over_http_and_need_a_status(client: tuple[TeslaSim, FlaskClient]) -> None:
    sim, http = client
    armed = http.post("/sim/faults", json={"pattern": "/oauth2/v3/token", "status": 502, "lose_answer": True})
    assert armed.status_code == 200 and armed.get_json()["faults"][0]["lose_answer"] is True
    answer = http.post("/oauth2/v3/token", data={**FORM, "refresh_token": "rt-0"})
    assert answer.status_code == 502 and sim.counters()["token_refreshes"] == 1  # Tesla did refresh
    with pytest.raises(ValueError):
        sim.faults.add("*", lose_answer=True, delay_s=1)
