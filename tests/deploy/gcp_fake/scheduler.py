"""Cloud Scheduler: drongo keeps the jobs; this module adds a job run's delivery and its logs.

drongo 0.8.0 answers `jobs.run` without sending anything. Here a run delivers the job like Cloud
Scheduler: an OIDC token of the job's service account with the job's audience, checked by the
target's Cloud Run IAM (run.invoke); then it writes the attempt's log entries as Cloud Scheduler
does (`resource.type="cloud_scheduler_job"`, log `cloudscheduler.googleapis.com/executions`,
payload types AttemptStarted / AttemptFinished with `status` and `debugInfo` on failure,
https://cloud.google.com/scheduler/docs/view-logs) and Cloud Run's request log entry
(`run.googleapis.com/requests`, https://cloud.google.com/run/docs/logging#request-logs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.deploy.gcp_fake import logs, run
from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Routes
from tests.deploy.gcp_fake.iam import account_exists, unique_id_of
from tests.deploy.gcp_fake.project import id_token

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
JOB = r"/v1/projects/(?P<project>[^/:]+)/locations/(?P<location>[^/:]+)/jobs/(?P<job>[^/:]+)"
PAYLOAD_TYPE = "type.googleapis.com/google.cloud.scheduler.logging.{}"
STATUS_NAMES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 500: "INTERNAL"}


@routes.post("cloudscheduler", JOB + ":run")
def run_job(fake: Fake, request: Request) -> JsonDict:
    fake.check_project(request.params["project"])
    status, job = fake.drongo("POST", request.path)
    if status != 200:
        raise ApiError(status, job.get("error", {}).get("message", "error"))
    deliver(fake, job, request.params["location"], request.params["job"])
    return job


def deliver(fake: Fake, job: JsonDict, location: str, job_id: str) -> int:
    """Send the job's HTTP request as Cloud Scheduler would, logging the attempt; the HTTP status."""
    target = job.get("httpTarget", {})
    uri = target.get("uri", "")
    oidc = target.get("oidcToken", {})
    email = oidc.get("serviceAccountEmail", "")
    token = (
        id_token(email, oidc.get("audience") or uri, unique_id_of(fake, email))
        if email and account_exists(fake, email)
        else ""
    )
    code, reason = run.invoke(fake, uri, token)
    resource = {
        "type": "cloud_scheduler_job",
        "labels": {"project_id": fake.project_id, "job_id": job_id, "location": location},
    }
    log_name = f"projects/{fake.project_id}/logs/cloudscheduler.googleapis.com%2Fexecutions"
    started = {"@type": PAYLOAD_TYPE.format("AttemptStarted"), "jobName": job["name"], "targetType": "HTTP", "url": uri}
    logs.write(
        fake, {"logName": log_name, "resource": resource, "severity": "INFO", "jsonPayload": started, "httpRequest": {}}
    )
    finished: JsonDict = {
        "@type": PAYLOAD_TYPE.format("AttemptFinished"),
        "jobName": job["name"],
        "targetType": "HTTP",
        "url": uri,
    }
    if code >= 300:
        finished["status"] = STATUS_NAMES.get(code, "UNKNOWN")
        kind = "ERROR_AUTHENTICATION" if code == 401 else "ERROR_NOT_FOUND" if code == 404 else "ERROR_AUTHORIZATION"
        finished["debugInfo"] = f"URL_ERROR-{kind}. Original HTTP response code number = {code}"
    severity = "ERROR" if code >= 300 else "INFO"
    logs.write(
        fake,
        {
            "logName": log_name,
            "resource": resource,
            "severity": severity,
            "jsonPayload": finished,
            "httpRequest": {"status": code},
        },
    )
    found = run.service_for_url(fake, uri)
    if found is not None:
        _, service = found
        labels = {
            "service_name": service["metadata"]["name"],
            "revision_name": service["status"]["latestReadyRevisionName"],
            "location": location,
            "project_id": fake.project_id,
            "configuration_name": service["metadata"]["name"],
        }
        entry: JsonDict = {
            "logName": f"projects/{fake.project_id}/logs/run.googleapis.com%2Frequests",
            "resource": {"type": "cloud_run_revision", "labels": labels},
            "severity": "INFO" if code < 300 else "WARNING",
            "httpRequest": {
                "requestMethod": target.get("httpMethod", "POST"),
                "requestUrl": uri,
                "status": code,
                "userAgent": "Google-Cloud-Scheduler",
            },
        }
        if code >= 300:
            entry["textPayload"] = reason
        logs.write(fake, entry)
    return code
