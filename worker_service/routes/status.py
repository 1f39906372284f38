"""The owner's status page (GET /), the same data as JSON (GET /status), the local login link and the page's forms.

Both views come from `owner_status.build_status`; the page adds only the chart's geometry, the form
token and a flash message. Forms answer Post/Redirect/Get: 303 to `/` with the outcome in a signed,
short-lived cookie. Redirects are relative, so they also work through `gcloud run services proxy`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, g, jsonify, make_response, redirect, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import UnsupportedMediaType

from shared.domain.local_departure import local_departure
from shared.domain.targets import MAX_TARGET_SOC, MIN_TARGET_SOC
from shared.errors import AppError, Forbidden, NotFound, Unauthorized, ValidationError
from worker_service.auth import OWNER, Caller
from worker_service.http import check_need_id, services
from worker_service.services import needs, owner_browser
from worker_service.services.owner_status import build_status
from worker_service.services.plan_chart import plan_chart

bp = Blueprint("status", __name__, template_folder="templates")

FORM_TYPE = "application/x-www-form-urlencoded"
NEED_FIELDS = frozenset({"csrf_token", "target_soc", "departure_date", "departure_time", "vin"})
CANCEL_FIELDS = frozenset({"csrf_token"})
# No script may run on the page (it has none); styles are inline; forms post only to this origin.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def owner_browser_caller(settings: Any) -> tuple[Caller, str] | None:
    """The owner's browser by its login cookie (shared-secret mode, this blueprint, no header credential).

    app.py's authentication hook asks this first: the cookie opens the owner's page and forms only.
    """
    if request.blueprint != bp.name or settings.worker_auth_mode != "shared-secret":
        return None
    if request.headers.get("Authorization") or request.headers.get("X-Serverless-Authorization"):
        return None
    session_id = owner_browser.cookie_caller_session(request.cookies, settings, services().clock.now())
    if session_id is None:
        return None
    return Caller(mode="shared-secret", roles=frozenset({OWNER})), session_id


def login_link_caller(settings: Any) -> tuple[Caller, str] | None:
    """`/login?token=...` locally: the token in the link is the credential (401 when wrong, like no credential).

    Without a token (or on GCP) the request is authenticated like any other, so strangers get 401/403.
    """
    token = request.args.get("token", "")
    if request.endpoint != "status.login" or settings.worker_auth_mode != "shared-secret" or not token:
        return None
    if not owner_browser.login_token_matches(token, settings):
        raise Unauthorized("The login link's token is wrong: use the link make run printed")
    return Caller(mode="shared-secret", roles=frozenset({OWNER})), ""


def needs_browser_login(settings: Any) -> bool:
    """A browser asking for the page locally with no credential at all: show how to log in, not JSON."""
    no_credential = not (request.headers.get("Authorization") or request.headers.get("X-Serverless-Authorization"))
    return (
        request.endpoint == "status.page"
        and settings.worker_auth_mode == "shared-secret"
        and no_credential
        and _wants_html()
    )


def browser_login_page(settings: Any) -> Any:
    """The HTML 401 page explaining the login link."""
    return _login_needed(services())


@bp.get("/status")
def status_json() -> Any:
    response = jsonify(build_status(services()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def page() -> Any:
    s = services()
    now = s.clock.now()
    tz = s.settings.timezone
    status = build_status(s)
    key = owner_browser.page_secret(s.store, s.extras)
    flash = owner_browser.read_flash(request.cookies.get(owner_browser.FLASH_COOKIE), key, now)
    charts = {v["vin"]: plan_chart(v["tonight"], tz, now) for v in status["vehicles"] if v["tonight"]}
    html = render_template(
        "status_page.html",
        status=status,
        charts=charts,
        flash=flash,
        csrf_token=owner_browser.csrf_token(key, _identity(), now),
        form=_form_defaults(s, now),
        vins=s.settings.vins,
        when=lambda value, pattern="%a %d %b %H:%M": _local(value, tz, pattern),
    )
    response = make_response(html)
    response.headers.update(PAGE_HEADERS)
    if owner_browser.FLASH_COOKIE in request.cookies:
        response.delete_cookie(owner_browser.FLASH_COOKIE, path="/", samesite="Strict", httponly=True)
    return response


@bp.get("/login")
def login() -> Any:
    """The local login link: `/login?token=<WORKER_API_TOKEN>` (checked by app.py) sets the owner's cookie."""
    if not request.args.get("token") or set(request.args) != {"token"}:
        raise ValidationError("token is required and is the only parameter: open the link make run printed")
    return _log_in(services())


@bp.post("/owner/needs")
def add_need() -> Any:
    s = services()
    fields, browser = _checked_form(s, NEED_FIELDS)
    try:
        target = _target(fields.get("target_soc"))
        departure = local_departure(
            fields.get("departure_date") or "", fields.get("departure_time") or "", s.settings.timezone
        )
        body: dict[str, Any] = {"target_soc": target, "departure": departure.isoformat()}
        if "vin" in fields:
            body["vin"] = fields["vin"]
        need = needs.create_need(s, body)
    except ValueError as problem:
        return _answer(s, browser, ValidationError(str(problem)))
    except AppError as error:
        return _answer(s, browser, error)
    local = _local(need["departure"], s.settings.timezone, "%a %d %b %H:%M")
    return _answer(s, browser, f"Need {need['need_id']} added: {target} % by {local}.")


@bp.post("/owner/needs/<need_id>/cancel")
def cancel_need(need_id: str) -> Any:
    s = services()
    _, browser = _checked_form(s, CANCEL_FIELDS)
    try:
        result = needs.cancel_need(s, check_need_id(need_id))
    except AppError as error:
        return _answer(s, browser, error)
    done = "was already cancelled" if result.get("message") == "already cancelled" else "cancelled"
    return _answer(s, browser, f"Need {need_id} {done}.")


# -- helpers --------------------------------------------------------------------------------------


def _log_in(s: Any) -> Any:
    if s.settings.worker_auth_mode != "shared-secret":
        raise NotFound("The login link exists only in shared-secret mode; on GCP open the page through the proxy")
    key = owner_browser.cookie_key(s.settings)
    assert key is not None  # shared-secret mode with its token, checked just above
    response = redirect("/", code=303)
    response.set_cookie(
        owner_browser.LOGIN_COOKIE,
        owner_browser.new_login_cookie(key, s.clock.now()),
        max_age=int(owner_browser.LOGIN_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )
    # The token is in this URL: no Referer may carry it anywhere, no cache may keep the answer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _login_needed(s: Any) -> Any:
    expired = owner_browser.LOGIN_COOKIE in request.cookies
    response = make_response(render_template("status_login.html", expired=expired, port=s.settings.port), 401)
    response.headers.update(PAGE_HEADERS)
    return response


def _identity() -> str:
    """Who the page is for: the browser session, else the authenticated caller (the CSRF token is bound to it)."""
    session_id = g.get("owner_session")
    if session_id:
        return f"browser:{session_id}"
    caller = g.get("caller")
    return f"{getattr(caller, 'mode', 'unknown')}:{getattr(caller, 'email', None) or ''}"


def _checked_form(s: Any, allowed: frozenset[str]) -> tuple[MultiDict[str, str], bool]:
    """The form's fields, after the checks a browser's post must pass (same origin, this caller's token)."""
    if request.content_length and request.mimetype != FORM_TYPE:
        raise UnsupportedMediaType(f"Send the page's form ({FORM_TYPE})")
    fields = request.form
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    browser = owner_browser.from_browser(request.headers, request.cookies)
    if browser:
        if not owner_browser.same_origin(request.headers, request.host):
            raise Forbidden("The form was not sent from this page's own address")
        key = owner_browser.page_secret(s.store, s.extras)
        if not owner_browser.csrf_token_valid(fields.get("csrf_token"), key, _identity(), s.clock.now()):
            raise Forbidden("The form's token is missing, expired or not yours: reload the page and try again")
    return fields, browser


def _answer(s: Any, browser: bool, outcome: str | AppError) -> Any:
    """Post/Redirect/Get: 303 to the page with the outcome to show; a script gets the error itself."""
    if isinstance(outcome, AppError) and not browser:
        raise outcome
    response = redirect("/", code=303)
    if browser:
        kind, text = ("error", outcome.message) if isinstance(outcome, AppError) else ("ok", outcome)
        key = owner_browser.page_secret(s.store, s.extras)
        response.set_cookie(
            owner_browser.FLASH_COOKIE,
            owner_browser.flash_value(key, kind, text, s.clock.now()),
            max_age=int(owner_browser.FLASH_LIFETIME.total_seconds()),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
    return response


def _target(value: str | None) -> int:
    text = value or ""
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise ValidationError(f"The target must be a whole percentage from {MIN_TARGET_SOC} to {MAX_TARGET_SOC}")
    target = int(text)
    if not MIN_TARGET_SOC <= target <= MAX_TARGET_SOC:
        raise ValidationError(f"The target must be from {MIN_TARGET_SOC} to {MAX_TARGET_SOC} %, not {target} %")
    return target


def _form_defaults(s: Any, now: datetime) -> dict[str, Any]:
    """Tomorrow at the everyday ready-by time, 80 %: the usual one-off need."""
    tomorrow = now.astimezone(s.settings.timezone).date() + timedelta(days=1)
    return {
        "target_soc": 80,
        "departure_date": tomorrow.isoformat(),
        "departure_time": s.settings.ready_by.strftime("%H:%M"),
        "min_target": MIN_TARGET_SOC,
        "max_target": MAX_TARGET_SOC,
    }


def _local(value: Any, tz: Any, pattern: str) -> str:
    """An ISO time from the status as the owner's local time; anything else shown as it is (escaped)."""
    if not isinstance(value, str) or not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(tz).strftime(pattern)
