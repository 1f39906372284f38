"""The owner's status page and GET /status: one source, two views; login, CSRF, same origin, escaping, PRG."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from shared.clock import SystemClock
from simulator.harness import API_TOKEN as SIM_API_TOKEN
from simulator.harness import System
from tests.support.id_tokens import TokenFactory, strip_signature
from tests.support.worker_app import API_TOKEN, VIN, FakeWorld, fake_world
from worker_service.auth import GoogleOidcAuth
from worker_service.services import owner_browser

WARSAW = ZoneInfo("Europe/Warsaw")
HERE = "http://localhost"  # the Flask test client's origin
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def logged_in(world: FakeWorld) -> FlaskClient:
    """A browser that opened the login link: it holds the session cookie and nothing else."""
    client = world.app.test_client()
    answer = client.get(f"/login?token={API_TOKEN}", headers=BROWSER)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    return client


def page_token(client: FlaskClient, base_url: str = HERE, **headers: str) -> str:
    answer = client.get("/", headers={**BROWSER, **headers}, base_url=base_url)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    found = TOKEN_FIELD.search(answer.get_data(as_text=True))
    assert found is not None
    return found.group(1)


def need_form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "target_soc": "90",
        "departure_date": "2026-11-25",
        "departure_time": "07:00",
        **fields,
    }


# -- one source, two views, no Tesla call ----------------------------------------------------------


def test_status_json_and_page_show_the_same_night_and_make_no_tesla_call(
    make_system: Callable[..., System],
) -> None:
    system = make_system(datetime(2026, 11, 23, 18, 0))
    status, _ = system.call_worker("POST", "/run-cycle")  # the failsafe wakes the car, plans, sends the schedule
    assert status == 200 and system.sim.counters()["commands"] > 0
    before, log_before = system.sim.counters(), len(system.sim.requests())
    bearer = {"Authorization": f"Bearer {SIM_API_TOKEN}"}

    status = system.worker.get("/status", headers=bearer).get_json()
    page = system.worker.get("/", headers=bearer).get_data(as_text=True)

    assert system.sim.counters() == before and len(system.sim.requests()) == log_before  # not one Tesla request
    tonight = status["vehicles"][0]["tonight"]
    assert tonight["source"] == "cycle" and tonight["windows"] and tonight["prices"]
    assert tonight["cost_on_arrival"] >= tonight["estimated_cost"]
    assert page.count('class="window"') == len(tonight["windows"])
    assert '<svg class="plan-chart"' in page
    start = datetime.fromisoformat(tonight["windows"][0]["start"]).astimezone(WARSAW).strftime("%H:%M")
    assert f"charging {start}–" in page
    assert f"{tonight['estimated_cost']:.2f} {tonight['currency']}" in page


# -- getting in ----------------------------------------------------------------------------------


def test_a_browser_without_login_is_told_how_and_a_script_gets_the_contracts_401(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    html = client.get("/", headers=BROWSER)
    assert html.status_code == 401 and "/login?token=" in html.get_data(as_text=True)
    script = client.get("/")
    assert script.status_code == 401 and script.get_json()["error"] == "unauthorized"
    assert client.get("/status").status_code == 401
    assert world.store.calls.total() == 0


def test_the_login_link_sets_a_signed_httponly_strict_cookie_never_the_token(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    wrong = client.get("/login?token=not-the-token", headers=BROWSER)
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "unauthorized"
    answer = client.get(f"/login?token={API_TOKEN}", headers=BROWSER)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{owner_browser.LOGIN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert API_TOKEN not in cookie
    assert client.get("/", headers=BROWSER).status_code == 200
    assert client.get("/status").status_code == 200


def test_a_tampered_or_foreign_cookie_does_not_let_anyone_in(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    forged = owner_browser.new_login_cookie(b"not-the-key" * 3, world.clock.now())
    client.set_cookie(owner_browser.LOGIN_COOKIE, forged)
    answer = client.get("/", headers=BROWSER)
    assert answer.status_code == 401 and "expired" in answer.get_data(as_text=True)
    assert client.get("/special-charging-needs").status_code == 401  # the cookie opens only the page


def test_the_login_link_exists_only_in_shared_secret_mode(tmp_path: Path) -> None:
    world = oidc_world(tmp_path)
    answer = world.app.test_client().get(f"/login?token={API_TOKEN}")
    assert answer.status_code == 401  # on GCP the link is no credential: Cloud Run's verified identity is


# -- the form: Post/Redirect/Get, CSRF, same origin ----------------------------------------------


def test_adding_a_need_through_the_form_redirects_and_lists_it(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    token = page_token(client)
    answer = client.post("/owner/needs", data=need_form(token), headers={**BROWSER, "Origin": HERE})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    [need] = world.store.list("special_charging_needs")
    assert need["target_soc"] == 90 and need["departure"] == "2026-11-25T07:00:00+01:00"
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Need need_1 added: 90 % by Wed 25 Nov 07:00." in page
    assert 'class="need-row"' in page and "need_1" in page
    again = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "added: 90 %" not in again  # the message is shown once


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target_soc": "120"}, "from 50 to 100 %, not 120 %"),
        ({"target_soc": "abc"}, "whole percentage"),
        ({"departure_date": "2026-11-20"}, "departure must be in the future"),
        ({"departure_date": "2026-03-29", "departure_time": "02:30"}, "clocks go forward"),
        ({"departure_time": "7 o'clock"}, "must look like 07:00"),
        ({"departure_date": "<b>2026-11-25</b>"}, "must look like 2026-11-24"),
    ],
)
def test_form_errors_come_back_as_an_escaped_message(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    form = need_form(page_token(client), **fields)
    answer = client.post("/owner/needs", data=form, headers={**BROWSER, "Origin": HERE})
    assert answer.status_code == 303
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert 'class="flash error"' in page and message in page
    assert world.store.list("special_charging_needs") == []


def test_a_form_with_fields_the_page_never_sends_is_refused_whole(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    form = {**need_form(page_token(client)), "<script>alert(1)</script>": "x"}
    answer = client.post("/owner/needs", data=form, headers={"Origin": HERE})
    assert answer.status_code == 400 and answer.mimetype == "application/json"
    assert world.store.list("special_charging_needs") == []


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {"Origin": HERE}),  # no token
        ("1.forged", {"Origin": HERE}),  # wrong token
        ("valid", {"Origin": "https://evil.example"}),  # another site
        ("valid", {"Origin": "null"}),
        ("valid", {}),  # a cookie-carrying post with neither Origin nor Referer
        ("valid", {"Origin": HERE, "Sec-Fetch-Site": "cross-site"}),
    ],
)
def test_forms_from_elsewhere_or_without_this_callers_token_are_refused(
    tmp_path: Path, token: str | None, headers: dict[str, str]
) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    form = need_form(page_token(client))
    if token is None:
        del form["csrf_token"]
    elif token != "valid":
        form["csrf_token"] = token
    answer = client.post("/owner/needs", data=form, headers=headers)
    assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden"
    assert world.store.list("special_charging_needs") == []


def test_one_browsers_token_does_not_work_in_another_session(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    first, second = logged_in(world), logged_in(world)
    answer = second.post("/owner/needs", data=need_form(page_token(first)), headers={"Origin": HERE})
    assert answer.status_code == 403


def test_the_referer_stands_in_for_a_missing_origin(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    answer = client.post("/owner/needs", data=need_form(page_token(client)), headers={"Referer": f"{HERE}/"})
    assert answer.status_code == 303 and len(world.store.list("special_charging_needs")) == 1


def test_cancelling_through_the_form(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = logged_in(world)
    token = page_token(client)
    client.post("/owner/needs", data=need_form(token), headers={"Origin": HERE})
    answer = client.post("/owner/needs/need_1/cancel", data={"csrf_token": token}, headers={"Origin": HERE})
    assert answer.status_code == 303
    assert world.store.get("special_charging_needs", "need_1")["status"] == "CANCELLED"  # type: ignore[index]
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Need need_1 cancelled." in page and 'class="need-row"' not in page
    unknown = client.post("/owner/needs/need_9/cancel", data={"csrf_token": token}, headers={"Origin": HERE})
    assert unknown.status_code == 303
    assert "No special-charging need need_9" in client.get("/", headers=BROWSER).get_data(as_text=True)


def test_scripts_post_the_form_with_their_bearer_and_get_plain_answers(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    client = world.app.test_client()
    form = need_form("")
    del form["csrf_token"]
    assert client.post("/owner/needs", data=form, headers=world.headers()).status_code == 303
    bad = client.post("/owner/needs", data={**form, "target_soc": "20"}, headers=world.headers())
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_request"
    as_json = client.post("/owner/needs", json={"target_soc": 80}, headers=world.headers())
    assert as_json.status_code == 415
    assert len(world.store.list("special_charging_needs")) == 1


# -- through `gcloud run services proxy` -----------------------------------------------------------

URL = "https://tesla-worker-abc-ew.a.run.app"
OWNER = "owner@example.com"


def oidc_world(tmp_path: Path) -> FakeWorld:
    auth = GoogleOidcAuth(URL, (OWNER,), SystemClock(), certs_fetcher=FACTORY.certs, on_cloud_run=True)
    return fake_world(
        tmp_path,
        now=datetime.now(UTC),
        authenticator=auth,
        WORKER_AUTH_MODE="google-oidc",
        WORKER_SERVICE_URL=URL,
        WORKER_ALLOWED_INVOKERS=OWNER,
    )


FACTORY = TokenFactory()


def test_the_page_and_its_form_work_through_the_cloud_run_proxy(tmp_path: Path) -> None:
    # cloud-run-proxy forwards to the service with Host set to the run.app name and the owner's ID
    # token added; Cloud Run checks it and passes it on with the signature stripped. The browser's
    # Origin stays http://localhost:8080.
    world = oidc_world(tmp_path)
    identity = FACTORY.token(audience=URL, email=OWNER, issued_at=datetime.now(UTC).timestamp())
    proxied = {"Authorization": f"Bearer {strip_signature(identity)}"}
    client = world.app.test_client()
    service = "http://tesla-worker-abc-ew.a.run.app"  # what the worker sees: Cloud Run ends TLS
    token = page_token(client, service, **proxied)
    departure = (datetime.now(WARSAW) + timedelta(days=2)).date().isoformat()
    answer = client.post(
        "/owner/needs",
        data=need_form(token, departure_date=departure),
        headers={**proxied, "Origin": "http://localhost:8080", "Referer": "http://localhost:8080/"},
        base_url=service,
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"  # relative: the proxy's browser stays on localhost
    assert len(world.store.list("special_charging_needs")) == 1
    cross = client.post(
        "/owner/needs", data=need_form(token), headers={**proxied, "Origin": "https://evil.example"}, base_url=service
    )
    assert cross.status_code == 403
    # A login cookie means nothing on GCP: only the identity Cloud Run verified does.
    bare = world.app.test_client()
    bare.set_cookie(owner_browser.LOGIN_COOKIE, "x.1.y")
    assert bare.get("/", headers=BROWSER).status_code == 401


# -- escaping and headers ------------------------------------------------------------------------


def test_everything_stored_is_escaped_on_the_page(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    evil = "<script>alert(1)</script>"
    world.store.set(
        "special_charging_needs",
        "x",
        {"need_id": evil, "status": "PENDING", "departure": "2026-11-25T07:00:00+01:00", "target_soc": evil},
    )
    world.store.set("owner_events", "e", {"event": evil, "message": evil, "remedy": evil, "at": evil})
    world.store.set("owner_actions", f"{VIN}-x", {"vin": VIN, "code": evil, "message": evil, "remedy": evil})
    world.store.set(
        "special_charging_sessions",
        "special_1_20261124_0700",
        {"session_id": evil, "status": "FAILED", "last_error": evil, "history": [{"at": evil, "event": evil}]},
    )
    page = world.app.test_client().get("/", headers=world.headers()).get_data(as_text=True)
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    assert "/owner/needs/%3Cscript%3Ealert(1)%3C/script%3E/cancel" in page


def test_the_page_forbids_scripts_frames_and_caching(tmp_path: Path) -> None:
    world = fake_world(tmp_path)
    answer = world.app.test_client().get("/", headers=world.headers())
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Cache-Control"] == "no-store"
    html = answer.get_data(as_text=True)
    assert '<meta name="viewport"' in html and "<script" not in html
    assert "@media (max-width: 600px)" in html
