"""Which worker to talk to and how to prove who we are: the local one of `make run`, or the deployed one.

Local: http://127.0.0.1:8080 and the shared secret `make run` keeps in STATE_DIR/worker-api-token.
Deployed: the URL of the Cloud Run service from `gcloud run services describe`, and a Google ID
token of the owner's own identity from `gcloud auth print-identity-token` (or, for a service
account key in GOOGLE_APPLICATION_CREDENTIALS, from google-auth). Cloud Run IAM checks that token
at the edge; the worker then checks the e-mail in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from offpeak_cli.errors import USAGE, CliError

ROOT = Path(__file__).resolve().parent.parent
LOCAL_URL = "http://127.0.0.1:8080"
DEFAULT_REGION = "europe-west1"
DEFAULT_SERVICE = "tesla-worker"
GCLOUD_TIMEOUT_S = 60
# What gcloud prints when it has no usable login (seen with gcloud 5xx: `auth print-identity-token`
# and any API command share the first sentence; the others come from expired or revoked logins).
NOT_LOGGED_IN = (
    "You do not currently have an active account selected",
    "Reauthentication failed",
    "There was a problem refreshing your current auth tokens",
    "Please run:\n\n  $ gcloud auth login",
)
# What `gcloud run services describe` prints for a service that is not there or not ours to see.
NO_SERVICE = ("Cannot find service", "NOT_FOUND", "PERMISSION_DENIED", "does not have permission", "may not exist")


@dataclass(frozen=True)
class Target:
    """A worker's base URL and the bearer credential to call it with."""

    mode: str  # "local" or "deployed"
    url: str
    token: str = field(repr=False)
    source: str = ""  # where the credential came from, for error messages (never the credential)
    state_dir: Path | None = None
    project: str | None = None


@dataclass(frozen=True)
class Place:
    """Where the deployed worker lives: project, region and Cloud Run service name."""

    project: str
    region: str
    service: str


def wants_local(local: bool, deployed: bool, env: Mapping[str, str]) -> bool:
    """Local when asked, deployed when asked, else local whenever `make run` left its token behind."""
    if local and deployed:
        raise CliError(
            "choose --local or the deployed worker (--deployed/--project/--region), not both", exit_code=USAGE
        )
    if local or deployed:
        return local
    return (state_dir(env) / "worker-api-token").is_file()


def state_dir(env: Mapping[str, str]) -> Path:
    """STATE_DIR as `make run` uses it: the variable, else ./.local-state, else the checkout's .local-state."""
    if env.get("STATE_DIR"):
        return Path(env["STATE_DIR"]).expanduser()
    here = Path.cwd() / ".local-state"
    return here if here.is_dir() else ROOT / ".local-state"


def local_target(env: Mapping[str, str], url: str | None) -> Target:
    """The worker of `make run`, with its shared secret (WORKER_API_TOKEN wins over the token file, as in the worker)."""
    directory = state_dir(env)
    token, source = env.get("WORKER_API_TOKEN", "").strip(), "WORKER_API_TOKEN"
    if not token:
        path, source = directory / "worker-api-token", str(directory / "worker-api-token")
        try:
            token = path.read_text().strip()
        except OSError:
            raise CliError(
                f"no local worker token at {path}: start the local system with `make run` "
                "(or use --project for the deployed worker)"
            ) from None
    return Target("local", (url or LOCAL_URL).rstrip("/"), token, source, state_dir=directory)


def deploy_config(env: Mapping[str, str]) -> dict[str, str]:
    """KEY=VALUE lines of deploy/config.env (read as data, as the deploy reads it), or nothing."""
    path = Path(env.get("OFFPEAK_DEPLOY_CONFIG") or ROOT / "deploy" / "config.env")
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            found[key.strip()] = value.strip().strip("'\"")
    return found


def deployed_place(project: str | None, region: str | None, env: Mapping[str, str]) -> Place:
    """Project and region from the flags, the environment, deploy/config.env, then gcloud's own setting."""
    config = deploy_config(env)

    def pick(name: str) -> str | None:
        return env.get(name) or config.get(name) or None

    project = project or pick("GOOGLE_CLOUD_PROJECT")
    if not project:
        project = gcloud(["config", "get-value", "project"], env).strip()
        if not project or project == "(unset)":
            raise CliError(
                "no Google Cloud project: pass --project ID or run `gcloud config set project ID` "
                "(or use --local for the worker of `make run`)",
                exit_code=USAGE,
            )
    return Place(
        project,
        region or pick("GOOGLE_CLOUD_LOCATION") or DEFAULT_REGION,
        pick("WORKER_SERVICE_NAME") or DEFAULT_SERVICE,
    )


def deployed_target(place: Place, env: Mapping[str, str], url: str | None = None) -> Target:
    """The deployed worker's URL (asked of Cloud Run unless given) and an ID token for it."""
    if not url:
        url = _service_url(place, env)
    token, source = _id_token(url, env)
    return Target("deployed", url.rstrip("/"), token, source, project=place.project)


def _service_url(place: Place, env: Mapping[str, str]) -> str:
    command = ["run", "services", "describe", place.service, f"--region={place.region}", f"--project={place.project}"]
    try:
        url = gcloud([*command, "--format=value(status.url)"], env).strip()
    except GcloudError as error:
        if any(sign in error.stderr for sign in NO_SERVICE) and not error.not_logged_in:
            raise CliError(
                f"no worker {place.service} in project {place.project}, region {place.region} (or no access to it): "
                "pick the right one with --project/--region or `gcloud config set project ID`"
            ) from None
        raise
    if not url.startswith(("https://", "http://")):
        raise CliError(f"Cloud Run gave no URL for {place.service} in {place.project}/{place.region}: deploy first")
    return url


def _id_token(audience: str, env: Mapping[str, str]) -> tuple[str, str]:
    key_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key_file and _is_service_account_key(Path(key_file)):
        return _service_account_id_token(audience), "GOOGLE_APPLICATION_CREDENTIALS"
    token = gcloud(["auth", "print-identity-token"], env).strip()
    if not token:
        raise CliError("not logged in: run gcloud auth login")
    return token, "gcloud auth print-identity-token"


def _is_service_account_key(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()).get("type") == "service_account")
    except (OSError, ValueError, AttributeError):
        return False


def _service_account_id_token(audience: str) -> str:
    """An ID token for `audience` signed for the service account in GOOGLE_APPLICATION_CREDENTIALS."""
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.id_token

    try:
        return str(google.oauth2.id_token.fetch_id_token(google.auth.transport.requests.Request(), audience))
    except (google.auth.exceptions.GoogleAuthError, ValueError) as error:
        raise CliError(f"no ID token for the service account in GOOGLE_APPLICATION_CREDENTIALS: {error}") from None


def gcloud(args: list[str], env: Mapping[str, str], *, capture: bool = True) -> str:
    """Run gcloud; its output, or one CliError line for a missing gcloud, a missing login, or its own error."""
    executable = shutil.which("gcloud", path=env.get("PATH", os.defpath))
    if executable is None:
        raise CliError(
            "gcloud not found: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install), "
            "or use --local for the worker of `make run`"
        )
    try:
        done = subprocess.run(
            [executable, *args],
            env=dict(env),
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE,
            text=True,
            timeout=GCLOUD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CliError(f"gcloud {' '.join(args[:3])} did not finish within {GCLOUD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise GcloudError(args, done.stderr or "")
    return done.stdout or ""


class GcloudError(CliError):
    """gcloud failed: "not logged in" when that is why, else its own ERROR line; `stderr` keeps all it said."""

    def __init__(self, args: list[str], stderr: str) -> None:
        self.stderr = stderr
        self.not_logged_in = any(sign in stderr for sign in NOT_LOGGED_IN)
        if self.not_logged_in:
            message = "not logged in: run gcloud auth login"
        else:
            lines = [line.strip() for line in stderr.splitlines() if line.strip()]
            detail = next((line for line in lines if line.startswith("ERROR:")), lines[-1] if lines else "no message")
            message = f"gcloud {' '.join(args[:3])} failed: {detail[:300]}"
        super().__init__(message)
