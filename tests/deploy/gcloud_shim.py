"""Put first on PATH as `gcloud` by the real-CLI harness: logs the argv, then runs the real gcloud.

One JSON line per call in GCLOUD_SHIM_LOG (argv, and which secret variables were in gcloud's
environment: none may be). The real CLI does all the work; nothing is answered here.
"""

from __future__ import annotations

import json
import os
import sys

SECRET_ENV = ("TESLA_CLIENT_SECRET", "TESLA_REFRESH_TOKEN", "WORKER_API_TOKEN", "ENTSOE_API_TOKEN", "ALERT_WEBHOOK_URL")


def main() -> None:
    """Log this call, then become the real gcloud."""
    real = os.environ["GCLOUD_SHIM_REAL"]
    record = {"argv": sys.argv[1:], "secret_env": [k for k in SECRET_ENV if k in os.environ]}
    with open(os.environ["GCLOUD_SHIM_LOG"], "a") as log:
        log.write(json.dumps(record) + "\n")
    os.execv(real, [real, *sys.argv[1:]])  # noqa: S606  # become gcloud itself: no shell, argv as given


if __name__ == "__main__":
    main()
