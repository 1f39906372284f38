"""A recording stand-in for `gcloud`, put first on PATH by the deploy tests.

Every call is appended to FAKE_GCLOUD_LOG as one JSON line (argv, stdin when read, the files a
command points at, and which secret variables were in its environment). Describe, list and
get-iam-policy calls are answered from FAKE_GCLOUD_STATE, which create/deploy/delete calls change,
so a second deploy sees what the first one made. No network, no real gcloud. Anything it does not
know exits 2, so a test fails on an unexpected command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

NOT_FOUND = 1
SECRET_ENV = ("TESLA_CLIENT_SECRET", "TESLA_REFRESH_TOKEN")


class Call:
    """One parsed invocation: positional words and --flag[=value] options."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.words = [a for a in argv if not a.startswith("-")]
        self.flags: dict[str, str] = {}
        for arg in argv:
            if arg.startswith("--"):
                name, _, value = arg[2:].partition("=")
                self.flags[name] = value

    def starts(self, *words: str) -> bool:
        return self.words[: len(words)] == list(words)

    def arg(self, index: int) -> str:
        return self.words[index]


def empty_state() -> dict[str, Any]:
    return {
        "project_number": "123456789012",
        "apis": [],
        "firestore": None,
        "project_policy": [],
        "service_accounts": {},
        "roles": {},
        "secrets": {},
        "repositories": [],
        "images": [],
        "run_services": {},
        "functions": {},
        "jobs": {},
        "url_overrides": {},
        "identity_token": "fake-user-id-token",
    }


def load_state(path: Path) -> dict[str, Any]:
    state = empty_state()
    if path.exists():
        state.update(json.loads(path.read_text()))
    return state


def missing(what: str) -> int:
    print(f"ERROR: (gcloud) NOT_FOUND: {what} was not found", file=sys.stderr)
    return NOT_FOUND


def already_exists(what: str) -> int:
    print(f"ERROR: (gcloud) ALREADY_EXISTS: {what} already exists", file=sys.stderr)
    return 1


def pairs(policy: list[list[str]]) -> str:
    return "".join(f"{role},{member}\n" for role, member in policy)


def change_policy(policy: list[list[str]], call: Call, verb: str) -> None:
    pair = [call.flags["role"], call.flags["member"]]
    if verb == "add-iam-policy-binding" and pair not in policy:
        policy.append(pair)
    if verb == "remove-iam-policy-binding" and pair in policy:
        policy.remove(pair)


def listing(folder: str) -> list[str]:
    root = Path(folder)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class Fake:
    """The command handlers; each returns the exit status and prints like gcloud would."""

    def __init__(self, state: dict[str, Any], record: dict[str, Any]) -> None:
        self.state = state
        self.record = record

    def run(self, call: Call) -> int:
        failing = self.state.get("fail_on")
        if failing and " ".join(call.words).startswith(failing):
            print(f"ERROR: (gcloud) PERMISSION_DENIED: caller may not {failing}", file=sys.stderr)
            return 1
        handlers = [
            (("projects",), self.projects),
            (("services",), self.services),
            (("firestore", "databases"), self.firestore),
            (("iam", "service-accounts"), self.service_accounts),
            (("iam", "roles"), self.roles),
            (("secrets",), self.secrets),
            (("artifacts",), self.artifacts),
            (("builds", "submit"), self.build),
            (("run", "services"), self.run_services),
            (("functions",), self.functions),
            (("scheduler", "jobs"), self.jobs),
            (("auth", "print-identity-token"), self.identity_token),
        ]
        for prefix, handler in handlers:
            if call.starts(*prefix):
                return handler(call)
        return self.unknown(call)

    def unknown(self, call: Call) -> int:
        print(f"fake gcloud: unsupported command {call.words}", file=sys.stderr)
        return 2

    def projects(self, call: Call) -> int:
        verb = call.arg(1)
        if verb == "describe":
            print(self.state["project_number"])
            return 0
        if verb == "get-iam-policy":
            print(pairs(self.state["project_policy"]), end="")
            return 0
        if verb in ("add-iam-policy-binding", "remove-iam-policy-binding"):
            assert call.flags.get("condition") == "None", "project bindings must pass --condition=None"
            change_policy(self.state["project_policy"], call, verb)
            return 0
        return self.unknown(call)

    def services(self, call: Call) -> int:
        if call.arg(1) == "list":
            print("\n".join(self.state["apis"]))
            return 0
        if call.arg(1) == "enable":
            self.state["apis"] += [api for api in call.words[2:] if api not in self.state["apis"]]
            return 0
        return self.unknown(call)

    def firestore(self, call: Call) -> int:
        verb = call.arg(2)
        if verb == "describe":
            if self.state["firestore"] is None:
                return missing("database (default)")
            print(self.state["firestore"]["type"])
            return 0
        if verb == "create":
            if self.state["firestore"] is not None:
                return already_exists("database (default)")
            self.state["firestore"] = {"type": "FIRESTORE_NATIVE", "location": call.flags["location"]}
            return 0
        if verb == "delete":
            self.state["firestore"] = None
            return 0
        return self.unknown(call)

    def service_accounts(self, call: Call) -> int:
        verb, accounts = call.arg(2), self.state["service_accounts"]
        if verb == "create":
            email = f"{call.arg(3)}@{call.flags['project']}.iam.gserviceaccount.com"
            if email in accounts:
                return already_exists(email)
            accounts[email] = {"policy": []}
            return 0
        email = call.arg(3)
        if email not in accounts:
            return missing(f"service account {email}")
        if verb == "describe":
            print(email)
        elif verb == "delete":
            del accounts[email]
        elif verb == "get-iam-policy":
            print(pairs(accounts[email]["policy"]), end="")
        elif verb in ("add-iam-policy-binding", "remove-iam-policy-binding"):
            change_policy(accounts[email]["policy"], call, verb)
        else:
            return self.unknown(call)
        return 0

    def roles(self, call: Call) -> int:
        verb, role_id, roles = call.arg(2), call.arg(3), self.state["roles"]
        if verb == "create":
            if role_id in roles:
                return already_exists(f"role {role_id}")
            roles[role_id] = {"permissions": call.flags["permissions"].split(","), "deleted": False}
            return 0
        if role_id not in roles:
            return missing(f"role {role_id}")
        role = roles[role_id]
        if verb == "describe":
            fields = call.flags.get("format", "")
            deleted = "True" if role["deleted"] else ""
            print(f"{deleted}\t{';'.join(role['permissions'])}" if "includedPermissions" in fields else deleted)
        elif verb == "update":
            role["permissions"] = call.flags["permissions"].split(",")
        elif verb == "delete":
            role["deleted"] = True
        elif verb == "undelete":
            role["deleted"] = False
        else:
            return self.unknown(call)
        return 0

    def secrets(self, call: Call) -> int:
        secrets = self.state["secrets"]
        if call.starts("secrets", "versions"):
            return self.secret_versions(call)
        verb, name = call.arg(1), call.arg(2)
        if verb == "create":
            if name in secrets:
                return already_exists(f"secret {name}")
            secrets[name] = {"versions": [], "policy": [], "labels": call.flags.get("labels", "")}
            return 0
        if name not in secrets:
            return missing(f"secret {name}")
        if verb == "describe":
            print(f"projects/p/secrets/{name}")
        elif verb == "delete":
            del secrets[name]
        elif verb == "get-iam-policy":
            print(pairs(secrets[name]["policy"]), end="")
        elif verb in ("add-iam-policy-binding", "remove-iam-policy-binding"):
            change_policy(secrets[name]["policy"], call, verb)
        else:
            return self.unknown(call)
        return 0

    def secret_versions(self, call: Call) -> int:
        verb = call.arg(2)
        name = call.flags["secret"] if verb == "access" else call.arg(3)
        secret = self.state["secrets"].get(name)
        if secret is None:
            return missing(f"secret {name}")
        enabled = [v for v in secret["versions"] if v["state"] == "ENABLED"]
        if verb == "add":
            assert call.flags.get("data-file") == "-", "secret data must come on stdin"
            data = sys.stdin.read()
            self.record["stdin"] = data
            secret["versions"].append({"data": data, "state": "ENABLED"})
            return 0
        if verb == "access":
            if not secret["versions"]:
                return missing(f"secret version latest of {name}")
            print(secret["versions"][-1]["data"], end="")
            return 0
        if verb == "list":
            print("\n".join(str(secret["versions"].index(v) + 1) for v in enabled[:1]))
            return 0
        return self.unknown(call)

    def artifacts(self, call: Call) -> int:
        if call.starts("artifacts", "repositories"):
            verb, name = call.arg(2), call.arg(3)
            repos = self.state["repositories"]
            if verb == "create":
                if name in repos:
                    return already_exists(f"repository {name}")
                repos.append(name)
            elif name not in repos:
                return missing(f"repository {name}")
            elif verb == "describe":
                print(name)
            elif verb == "delete":
                repos.remove(name)
                self.state["images"] = []
            else:
                return self.unknown(call)
            return 0
        if call.starts("artifacts", "docker", "images", "describe"):
            image = call.arg(4)
            if image not in self.state["images"]:
                return missing(f"image {image}")
            print("sha256:0123")
            return 0
        return self.unknown(call)

    def build(self, call: Call) -> int:
        source = call.arg(2)
        self.record["files"] = listing(source)
        self.record["requirements"] = (Path(source) / "requirements_cloud.txt").read_text()
        self.record["dockerfile"] = (Path(source) / "Dockerfile").read_text()
        self.state["images"].append(call.flags["tag"])
        return 0

    def url_for(self, name: str, default: str) -> str:
        return str(self.state["url_overrides"].get(name, default))

    def run_services(self, call: Call) -> int:
        verb, services = call.arg(2), self.state["run_services"]
        if verb == "replace":
            import yaml  # only here: most calls need no YAML, and each call is a new process

            text = Path(call.arg(3)).read_text()
            self.record["yaml"] = text
            spec = yaml.safe_load(text)
            name = spec["metadata"]["name"]
            region = call.flags["region"]
            default_url = f"https://{name}-{self.state['project_number']}.{region}.run.app"
            old = services.get(name, {"policy": []})
            services[name] = {"url": self.url_for(name, default_url), "policy": old["policy"], "spec": spec}
            return 0
        name = call.arg(3)
        if name not in services:
            return missing(f"service {name}")
        if verb == "describe":
            print(services[name]["url"])
        elif verb == "delete":
            del services[name]
        elif verb == "get-iam-policy":
            print(pairs(services[name]["policy"]), end="")
        elif verb in ("add-iam-policy-binding", "remove-iam-policy-binding"):
            change_policy(services[name]["policy"], call, verb)
        else:
            return self.unknown(call)
        return 0

    def functions(self, call: Call) -> int:
        verb, name, functions = call.arg(1), call.arg(2), self.state["functions"]
        if verb == "deploy":
            import yaml

            env_text = Path(call.flags["env-vars-file"]).read_text()
            source = call.flags["source"]
            self.record["env_file"] = env_text
            self.record["files"] = listing(source)
            self.record["requirements"] = (Path(source) / "requirements.txt").read_text()
            labels = dict(item.split("=", 1) for item in call.flags["update-labels"].split(","))
            url = self.url_for(name, f"https://{name}-abcdef-ew.a.run.app")
            functions[name] = {"url": url, "labels": labels, "env": yaml.safe_load(env_text)}
            service = self.state["run_services"].setdefault(name, {"policy": []})
            service["url"] = url
            return 0
        if name not in functions:
            return missing(f"function {name}")
        if verb == "describe":
            fields = call.flags.get("format", "")
            if "serviceConfig.uri" in fields:
                print(functions[name]["url"])
            elif "labels.deploy_hash" in fields:
                print(functions[name]["labels"].get("deploy_hash", ""))
            else:
                print(name)
        elif verb == "delete":
            del functions[name]
            self.state["run_services"].pop(name, None)
        else:
            return self.unknown(call)
        return 0

    def jobs(self, call: Call) -> int:
        verb, jobs = call.arg(2), self.state["jobs"]
        if verb == "list":
            print("\n".join(jobs))
            return 0
        if verb in ("create", "update"):
            assert call.arg(3) == "http", "only HTTP jobs"
            name = call.arg(4)
            if verb == "create" and name in jobs:
                print(f"ERROR: ALREADY_EXISTS: job {name}", file=sys.stderr)
                return 1
            if verb == "update" and name not in jobs:
                return missing(f"job {name}")
            jobs[name] = {k: v for k, v in call.flags.items() if k not in ("project", "quiet")}
            return 0
        name = call.arg(3)
        if name not in jobs:
            return missing(f"job {name}")
        if verb == "describe":
            print(name)
        elif verb == "delete":
            del jobs[name]
        else:
            return self.unknown(call)
        return 0

    def identity_token(self, call: Call) -> int:
        print(self.state["identity_token"])
        return 0


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_GCLOUD_STATE"])
    log_path = Path(os.environ["FAKE_GCLOUD_LOG"])
    state = load_state(state_path)
    record: dict[str, Any] = {"argv": argv, "secret_env": [k for k in SECRET_ENV if k in os.environ]}
    call = Call(argv)
    try:
        status = Fake(state, record).run(call)
    except (AssertionError, KeyError, IndexError) as error:
        print(f"fake gcloud: bad call {argv}: {error!r}", file=sys.stderr)
        status = 2
    record["status"] = status
    with log_path.open("a") as log:
        log.write(json.dumps(record) + "\n")
    state_path.write_text(json.dumps(state, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
