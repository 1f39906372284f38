"""The Tesla simulator over HTTP (Flask test client): shapes, 401s, 408s, proxy, billing, faults, /sim, regions, scopes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.testing import FlaskClient

from shared.clock import ManualClock
from simulator.tesla_sim import SimConfig, TeslaSim, create_app
from simulator.tesla_sim.__main__ import build_sim, parse_args

VIN = "5YJ3E7EB2NF000001"
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
API = f"/api/1/vehicles/{VIN}"
DATA_QUERY = "?endpoints=location_data;charge_state"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> TeslaSim:
    """A pre-2021 Model S, which still takes unsigned REST commands."""
    sim = TeslaSim(clock, refresh_token="rt-initial")
    sim.add_vehicle(
        VIN, preset="legacy_model_s", asleep=False, battery_level=55, charge_limit=80, latitude=52.1, longitude=21.2
    )
    return sim


@pytest.fixture
def client(sim: TeslaSim) -> FlaskClient:
    return create_app(sim).test_client()


@pytest.fixture
def auth(client: FlaskClient) -> dict[str, str]:
    grant = client.post(
        "/oauth2/v3/token", data={"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt-initial"}
    ).get_json()
    return {"Authorization": f"Bearer {grant['access_token']}"}


def test_the_token_endpoint_takes_a_form_and_refuses_a_used_refresh_token(client: FlaskClient) -> None:
    form = {"grant_type": "refresh_token", "client_id": "app", "refresh_token": "rt-initial"}
    first = client.post("/oauth2/v3/token", data=form)
    assert first.status_code == 200
    assert set(first.get_json()) >= {"access_token", "refresh_token", "expires_in", "token_type"}
    # The new pair's first use kills the old refresh token (before it, a retry would still work).
    assert client.get(API, headers={"Authorization": f"Bearer {first.get_json()['access_token']}"}).status_code == 200
    again = client.post("/oauth2/v3/token", data=form)
    assert again.status_code == 401
    body = again.get_json()
    assert body["error"] == "invalid_grant" and body["error_description"]


def test_api_calls_need_a_valid_unexpired_bearer_token(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim, clock: ManualClock
) -> None:
    assert client.get(API).status_code == 401
    assert client.get(API, headers={"Authorization": "Bearer not-issued"}).status_code == 401
    assert client.get(API, headers=auth).status_code == 200
    clock.advance(timedelta(hours=8))
    expired = client.get(API, headers=auth)
    assert expired.status_code == 401 and expired.get_json()["error"] == "token expired (401)"
    # 401s are billed in their endpoint's category (every answer below 500 is) and counted apart.
    assert sim.counters()["unauthorized"] == 3 and sim.counters()["state_calls"] == 4


def test_vehicle_state_call_has_tesla_shape_and_is_counted_as_free(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    body = client.get(API, headers=auth).get_json()["response"]
    assert body["vin"] == VIN and body["state"] == "online" and isinstance(body["id"], int)
    assert body["id_s"] == str(body["id"])
    counts = sim.counters()
    assert counts["state_calls"] == 1 and counts["data"] == 0


def test_vehicle_data_sends_position_only_with_location_data(client: FlaskClient, auth: dict[str, str]) -> None:
    full = client.get(API + "/vehicle_data" + DATA_QUERY, headers=auth).get_json()["response"]
    assert full["state"] == "online" and full["vin"] == VIN
    drive, charge = full["drive_state"], full["charge_state"]
    assert (drive["latitude"], drive["longitude"]) == (52.1, 21.2)
    assert charge["battery_level"] == 55 and charge["charge_limit_soc"] == 80
    assert charge["charging_state"] == "Disconnected" and charge["charger_power"] == 0
    assert charge["charge_schedules"] == [] and isinstance(charge["timestamp"], int)

    charge_only = client.get(API + "/vehicle_data?endpoints=charge_state", headers=auth).get_json()["response"]
    assert "drive_state" not in charge_only and "charge_state" in charge_only

    default = client.get(API + "/vehicle_data", headers=auth).get_json()["response"]
    assert "latitude" not in default["drive_state"] and "vehicle_state" in default


def test_a_sleeping_car_answers_408_and_the_408_is_billed(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    sim.force_sleep(VIN)
    answer = client.get(API + "/vehicle_data" + DATA_QUERY, headers=auth)
    assert answer.status_code == 408
    assert answer.get_json() == {
        "response": None,
        "error": "vehicle unavailable: vehicle is offline or asleep",
        "error_description": "",
    }
    assert sim.counters()["data"] == 1


def test_wake_up_answers_with_the_current_state_and_counts_as_a_wake(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    sim.force_sleep(VIN)
    answer = client.post(API + "/wake_up", headers=auth).get_json()["response"]
    assert answer["state"] == "asleep"
    assert sim.counters()["wakes"] == 1


def test_signed_command_cars_answer_403_directly_but_the_proxy_path_works(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    sim.set_requires_signed_commands(VIN)
    direct = client.post(API + "/command/set_charge_limit", json={"percent": 70}, headers=auth)
    assert direct.status_code == 403
    assert "Vehicle Command Protocol required" in direct.get_json()["error"]
    proxied = client.post("/proxy" + API + "/command/set_charge_limit", json={"percent": 70}, headers=auth)
    assert proxied.status_code == 200 and proxied.get_json() == {"response": {"result": True, "reason": ""}}
    data = client.get("/proxy" + API + "/vehicle_data" + DATA_QUERY, headers=auth)
    assert data.get_json()["response"]["charge_state"]["charge_limit_soc"] == 70
    assert sim.counters()["commands"] == 2 and sim.counters()["data"] == 1
    assert [r.via_proxy for r in sim.requests()[-3:]] == [False, True, True]


def test_bad_command_bodies_answer_400(client: FlaskClient, auth: dict[str, str]) -> None:
    not_json = client.post(
        API + "/command/set_charge_limit", data="{", headers={**auth, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    missing = client.post(API + "/command/add_charge_schedule", json={"id": 5}, headers=auth)
    assert missing.status_code == 400 and missing.get_json()["error"] == "missing lat param"
    unknown = client.post(API + "/command/honk_horn", json={}, headers=auth)
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_command"


def test_a_fault_answers_its_status_with_retry_after_then_stops(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    sim.faults.add("*/vehicle_data", status=429, count=2, retry_after=30)
    for _ in range(2):
        limited = client.get(API + "/vehicle_data" + DATA_QUERY, headers=auth)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert client.get(API + "/vehicle_data" + DATA_QUERY, headers=auth).status_code == 200
    assert client.get(API, headers=auth).status_code == 200  # other paths never matched
    sim.faults.add("/oauth2/v3/token", status=503, body={"error": "down"})
    down = client.post("/oauth2/v3/token", data={"refresh_token": "x"})
    assert down.status_code == 503 and down.get_json() == {"error": "down"}
    assert sim.counters()["data"] == 3


def test_unknown_routes_and_vehicles_answer_json_404(client: FlaskClient, auth: dict[str, str]) -> None:
    assert client.get("/nope").get_json()["error"] == "Not Found"
    missing = client.get("/api/1/vehicles/5YJ3E7EB2NF999999", headers=auth)
    assert missing.status_code == 404 and missing.get_json()["response"] is None


# ---- /sim controls --------------------------------------------------------------------------------


def post(client: FlaskClient, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = client.post(path, json=body or {})
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


def test_sim_controls_drive_the_car_over_http(client: FlaskClient, clock: ManualClock) -> None:
    other = "5YJ3E7EB2NF000002"
    assert post(client, "/sim/vehicles", {"vin": other, "battery_level": 30, "asleep": False})["state"] == "online"
    post(client, f"/sim/vehicles/{other}/drive")
    parked = post(client, f"/sim/vehicles/{other}/park", {"latitude": 50.0, "longitude": 19.9, "battery_level": 25})
    assert (parked["latitude"], parked["battery_level"], parked["driving"]) == (50.0, 25.0, False)
    post(client, f"/sim/vehicles/{other}/move", {"latitude": 50.1, "longitude": 19.8})
    post(client, f"/sim/vehicles/{other}/limit", {"percent": 90})
    post(client, f"/sim/vehicles/{other}/soc", {"percent": 60})
    plugged = post(client, f"/sim/vehicles/{other}/plug", {"plugged": True})
    assert plugged["charging_state"] == "Charging" and plugged["charge_limit"] == 90
    assert post(client, f"/sim/vehicles/{other}/sleep")["state"] == "asleep"
    assert post(client, f"/sim/vehicles/{other}/offline")["state"] == "offline"
    assert post(client, f"/sim/vehicles/{other}/stay_asleep", {"stay": True})["stay_asleep"] is True
    assert post(client, f"/sim/vehicles/{other}/signed_commands")["requires_signed_commands"] is True
    assert post(client, "/sim/clock/advance", {"seconds": 60})["now"] == (START + timedelta(seconds=60)).isoformat()
    state = client.get("/sim/state").get_json()
    assert set(state["vehicles"]) == {VIN, other} and "counters" in state
    assert client.post(f"/sim/vehicles/{other}/move", json={}).status_code == 400
    assert client.post(f"/sim/vehicles/{other}/fly", json={}).status_code == 404
    assert client.post("/sim/vehicles/5YJ3E7EB2NF999999/plug", json={}).status_code == 404


def test_sim_faults_counters_tokens_and_reset_over_http(client: FlaskClient, auth: dict[str, str]) -> None:
    armed = post(client, "/sim/faults", {"pattern": "*/wake_up", "status": 503, "count": 1})["faults"]
    assert armed[0]["pattern"] == "*/wake_up"
    assert client.post(API + "/wake_up", headers=auth).status_code == 503
    assert client.get("/sim/faults").get_json()["faults"] == []
    assert client.post("/sim/faults", json={"pattern": "*"}).status_code == 400
    client.get(API, headers=auth)
    assert client.get("/sim/counters").get_json()["state_calls"] == 1
    assert client.get("/sim/requests").get_json()["requests"][-1]["path"] == API
    post(client, "/sim/tokens/expire-access")
    assert client.get(API, headers=auth).status_code == 401
    fresh = post(client, "/sim/tokens/issue")["refresh_token"]
    post(client, "/sim/tokens/revoke")
    form = {"grant_type": "refresh_token", "client_id": "app", "refresh_token": fresh}
    assert client.post("/oauth2/v3/token", data=form).status_code == 401
    post(client, "/sim/reset")
    assert client.get("/sim/counters").get_json()["state_calls"] == 0
    assert client.get("/sim/health").get_json()["status"] == "ok"


def test_armed_faults_never_block_the_sim_controls(client: FlaskClient, auth: dict[str, str], sim: TeslaSim) -> None:
    sim.faults.add("*", status=503, count=None)
    assert client.get(API, headers=auth).status_code == 503
    assert client.get("/sim/health").status_code == 200
    assert client.delete("/sim/faults").get_json() == {"faults": []}
    assert client.get(API, headers=auth).status_code == 200


# ---- fleet_status, regions, scopes and token formats ----------------------------------------------------


def grant(client: FlaskClient, refresh_token: str = "rt-initial") -> dict[str, Any]:
    form = {"grant_type": "refresh_token", "client_id": "app", "refresh_token": refresh_token}
    answer = client.post("/oauth2/v3/token", data=form)
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_fleet_status_reports_pairing_and_firmware_without_waking_and_is_billed_as_data(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    modern, unpaired = "5YJ3E7EB2NF000011", "5YJ3E7EB2NF000012"
    sim.add_vehicle(modern)
    sim.add_vehicle(unpaired, preset="unpaired")
    answer = client.post(
        "/api/1/vehicles/fleet_status", json={"vins": [VIN, modern, unpaired, "5YJ3E7EB2NF999999"]}, headers=auth
    )
    assert answer.status_code == 200
    body = answer.get_json()["response"]
    assert body["key_paired_vins"] == [VIN, modern] and body["unpaired_vins"] == [unpaired]
    assert set(body["vehicle_info"]) == {VIN, modern, unpaired}
    info = body["vehicle_info"][modern]
    assert info["firmware_version"] == "2024.44.25" and info["vehicle_command_protocol_required"] is True
    assert body["vehicle_info"][VIN]["vehicle_command_protocol_required"] is False  # the pre-2021 Model S
    assert {"discounted_device_data", "fleet_telemetry_version", "total_number_of_keys"} <= set(info)
    assert sim.vehicle(modern)["state"] == "asleep"
    assert sim.counters()["data"] == 1
    assert client.post("/api/1/vehicles/fleet_status", json={"vins": "x"}, headers=auth).status_code == 400


def test_users_region_names_the_accounts_region_and_base_url(client: FlaskClient, auth: dict[str, str]) -> None:
    answer = client.get("/api/1/users/region", headers=auth)
    assert answer.get_json() == {
        "response": {"region": "eu", "fleet_api_base_url": "https://fleet-api.prd.eu.vn.cloud.tesla.com"}
    }


def test_a_server_of_the_wrong_region_answers_421_naming_the_right_base_url(
    client: FlaskClient, auth: dict[str, str], sim: TeslaSim
) -> None:
    sim.set_regions(account_region="na", served_region="eu")
    misdirected = client.get(API + "/vehicle_data", headers=auth)
    assert misdirected.status_code == 421
    assert misdirected.get_json() == {
        "response": None,
        "error": "user out of region, use base URL: https://fleet-api.prd.na.vn.cloud.tesla.com, "
        "see https://developer.tesla.com/docs/fleet-api/getting-started/regions-countries",
        "error_description": "",
    }
    assert misdirected.headers["Alt-Svc"] == "h2=https://fleet-api.prd.na.vn.cloud.tesla.com"
    assert client.post(API + "/signed_command", json={}, headers=auth).status_code == 421
    region = client.get("/api/1/users/region", headers=auth).get_json()["response"]
    assert region["region"] == "na"
    # Tesla's proxy finds the region in the token itself, so the proxy path is never misdirected.
    assert client.get("/proxy" + API, headers=auth).status_code == 200
    assert sim.counters()["data"] == 1 and sim.counters()["commands"] == 1  # 421s are billed too
    assert post(client, "/sim/region", {"served_region": "na"}) == {"account_region": "na", "served_region": "na"}
    assert client.get(API + "/vehicle_data", headers=auth).status_code == 200


def test_access_tokens_are_jwts_carrying_the_granted_scopes(client: FlaskClient, clock: ManualClock) -> None:
    token = grant(client)["access_token"]
    header, payload = jwt_payload("x." + token.split(".")[0]), jwt_payload(token)
    assert header["typ"] == "JWT"
    assert payload["scp"] == [
        "openid",
        "offline_access",
        "vehicle_device_data",
        "vehicle_location",
        "vehicle_cmds",
        "vehicle_charging_cmds",
    ]
    assert payload["exp"] == int(START.timestamp()) + 28800 and payload["iat"] == int(START.timestamp())
    assert payload["iss"] == "https://auth.tesla.com/oauth2/v3/nts" and payload["sub"]
    assert "https://fleet-api.prd.eu.vn.cloud.tesla.com" in payload["aud"] and payload["ou_code"] == "EU"


def test_opaque_tokens_work_directly_but_tesla_proxy_refuses_them(clock: ManualClock) -> None:
    sim = TeslaSim(clock, refresh_token="rt-initial", config=SimConfig(access_token_format="opaque"))
    sim.add_vehicle(VIN, asleep=False)
    client = create_app(sim).test_client()
    token = grant(client)["access_token"]
    assert token.count(".") != 2
    assert client.get(API, headers=bearer(token)).status_code == 200
    refused = client.post("/proxy" + API + "/command/charge_start", json={}, headers=bearer(token))
    assert refused.status_code == 403 and refused.get_json()["error"] == "client provided malformed OAuth token"
    assert sim.counters()["commands"] == 0  # the proxy answered without reaching Tesla


def test_location_needs_the_vehicle_location_scope(client: FlaskClient, sim: TeslaSim) -> None:
    post(client, "/sim/tokens/scopes", {"scopes": ["openid", "offline_access", "vehicle_device_data"]})
    headers = bearer(grant(client)["access_token"])
    refused = client.get(API + "/vehicle_data" + DATA_QUERY, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"].startswith("Unauthorized missing scopes")
    assert "vehicle_location" in refused.get_json()["error"]
    assert client.get(API + "/vehicle_data?endpoints=charge_state", headers=headers).status_code == 200
    assert sim.counters()["data"] == 2  # the 403 is billed


def test_commands_need_a_command_scope(client: FlaskClient, sim: TeslaSim) -> None:
    sim.set_scopes(["openid", "vehicle_device_data"])
    headers = bearer(grant(client)["access_token"])
    for path in ("/command/set_charge_limit", "/signed_command"):
        refused = client.post(API + path, json={"percent": 70}, headers=headers)
        assert refused.status_code == 403 and refused.get_json() == {
            "response": None,
            "error": "Unauthorized missing scopes",
            "error_description": "",
        }
    sim.set_scopes(["openid", "vehicle_charging_cmds"])
    charging_only = bearer(grant(client, grant_refresh(client, sim))["access_token"])
    allowed = client.post(API + "/command/set_charge_limit", json={"percent": 70}, headers=charging_only)
    assert allowed.status_code == 200
    assert sim.counters()["commands"] == 3


def grant_refresh(client: FlaskClient, sim: TeslaSim) -> str:
    """A fresh refresh token, as if the owner authorised the app again with the new scopes."""
    return str(post(client, "/sim/tokens/issue")["refresh_token"])


def test_the_2024_notice_mode_kills_older_access_tokens_at_each_refresh(clock: ManualClock) -> None:
    for notice, old_still_works in ((False, True), (True, False)):
        sim = TeslaSim(clock, refresh_token="rt-initial", config=SimConfig(refresh_invalidates_access_tokens=notice))
        sim.add_vehicle(VIN)
        client = create_app(sim).test_client()
        first = grant(client)
        assert client.get(API, headers=bearer(first["access_token"])).status_code == 200
        second = grant(client, first["refresh_token"])
        assert (client.get(API, headers=bearer(first["access_token"])).status_code == 200) is old_still_works
        assert client.get(API, headers=bearer(second["access_token"])).status_code == 200


def test_sim_controls_for_keys_and_car_restarts(client: FlaskClient, sim: TeslaSim) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert post(client, "/sim/app-key", {"public_key_pem": pem}) == {"status": "ok"}
    assert client.post("/sim/app-key", json={"public_key_pem": "nope"}).status_code == 400
    assert post(client, f"/sim/vehicles/{VIN}/unpair_key")["key_paired"] is False
    assert post(client, f"/sim/vehicles/{VIN}/pair_key")["key_paired"] is True
    assert post(client, f"/sim/vehicles/{VIN}/restart")["vin"] == VIN
    added = post(client, "/sim/vehicles", {"vin": "5YJ3E7EB2NF000021", "preset": "old_firmware"})
    assert (added["firmware_version"], added["requires_signed_commands"]) == ("2024.20.9", True)
    assert client.post("/sim/vehicles", json={"vin": "5YJ3E7EB2NF000022", "preset": "nope"}).status_code == 400
    assert client.post("/sim/region", json={"account_region": "mars"}).status_code == 400


def test_the_standalone_flags_build_todays_cars_with_the_app_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem_file = tmp_path / "com.tesla.3p.public-key.pem"
    pem_file.write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    args = parse_args(
        ["--vin", VIN, "--car-preset", "unpaired", "--app-public-key", str(pem_file), "--served-region", "na"]
    )
    sim = build_sim(args)
    snap = sim.snapshot(VIN)
    assert (snap["preset"], snap["key_paired"], snap["requires_signed_commands"]) == ("unpaired", False, True)
    assert (sim.account_region, sim.served_region) == ("eu", "na")
    sim.pair_key(VIN)
    assert sim.fleet_status([VIN])["vehicle_info"][VIN]["total_number_of_keys"] == 3  # owner's two + the app's
    legacy = build_sim(parse_args(["--vin", VIN, "--car-preset", "legacy_model_s"]))
    assert legacy.snapshot(VIN)["requires_signed_commands"] is False
