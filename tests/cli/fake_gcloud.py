"""A stand-in for the few `gcloud` commands the owner's command line runs, put first on PATH by tests/cli.

It copies what gcloud prints (seen with the real CLI, and in its public issue threads):
- `config get-value project`: the project on stdout; with none set, "(unset)" on stderr and an empty stdout, exit 0;
- `run services describe NAME --region=R --project=P --format=value(status.url)`: the URL; a service
  that is not there: "ERROR: (gcloud.run.services.describe) Cannot find service [NAME]", exit 1; in a
  project the account may not read: "... PERMISSION_DENIED: Permission 'run.services.get' denied ...", exit 1;
- `auth print-identity-token`: the token; with no login: "ERROR: (gcloud.auth.print-identity-token) You do
  not currently have an active account selected." and the `gcloud auth login` advice, exit 1
  (every API command says the same without a login);
- `logging read FILTER ...`: entries on stdout.
Driven by FAKE_GCLOUD_PROJECT, FAKE_GCLOUD_SERVICES ("project/region/service=url;..."),
FAKE_GCLOUD_TOKEN, FAKE_GCLOUD_LOGGED_OUT=1, FAKE_GCLOUD_DENIED (a project); each call is appended to FAKE_GCLOUD_LOG as a JSON line.
"""

from __future__ import annotations

import json
import os
import sys

NO_LOGIN = """ERROR: ({command}) You do not currently have an active account selected.
Please run:

  $ gcloud auth login

to obtain new credentials.
"""


def flag(argv: list[str], name: str) -> str | None:
    prefix = f"--{name}="
    return next((a[len(prefix) :] for a in argv if a.startswith(prefix)), None)


def main(argv: list[str]) -> int:
    if os.environ.get("FAKE_GCLOUD_LOG"):
        with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
            log.write(json.dumps(argv) + "\n")
    words = [a for a in argv if not a.startswith("--")]
    command = "gcloud." + ".".join(words[:3])
    if words[:3] == ["config", "get-value", "project"]:
        project = os.environ.get("FAKE_GCLOUD_PROJECT", "")
        if project:
            print(project)
        else:
            print("(unset)", file=sys.stderr)
        return 0
    if os.environ.get("FAKE_GCLOUD_LOGGED_OUT") == "1":
        sys.stderr.write(NO_LOGIN.format(command=command))
        return 1
    if words[:3] == ["run", "services", "describe"]:
        if os.environ.get("FAKE_GCLOUD_DENIED") == flag(argv, "project"):
            print(
                "ERROR: (gcloud.run.services.describe) PERMISSION_DENIED: Permission 'run.services.get' denied on "
                f"resource 'namespaces/{flag(argv, 'project')}/services/{words[3]}' (or resource may not exist).",
                file=sys.stderr,
            )
            return 1
        key = f"{flag(argv, 'project')}/{flag(argv, 'region')}/{words[3]}"
        services = dict(item.split("=", 1) for item in os.environ.get("FAKE_GCLOUD_SERVICES", "").split(";") if item)
        if key not in services:
            print(f"ERROR: (gcloud.run.services.describe) Cannot find service [{words[3]}]", file=sys.stderr)
            return 1
        print(services[key])
        return 0
    if words[:2] == ["auth", "print-identity-token"]:
        print(os.environ.get("FAKE_GCLOUD_TOKEN", "fake-id-token"))
        return 0
    if words[:2] == ["logging", "read"]:
        print("2026-11-30T22:00:00Z  INFO  SPECIAL  [SPECIAL] need need_1 registered")
        return 0
    print(f"ERROR: fake gcloud does not know: {' '.join(argv)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
