"""Cloud Logging `entries.list`, over the entries the fake writes (scheduler attempts, Cloud Run requests).

Request and entry shapes from googlecloudsdk/generated_clients/apis/logging/v2 and
https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list: POST /v2/entries:list
`{"resourceNames", "filter", "orderBy", "pageSize"}` → `{"entries": [...]}`. The filter language is
served only in the part the deploy uses: comparisons `FIELD = | != | >= | <= | > | < | : "VALUE"` of
dotted fields joined by AND, and `FIELD:*` (the field is present), as the alert policy's filter
uses it (https://cloud.google.com/logging/docs/view/logging-query-language);
anything else is refused with 400, so a test notices a query this fake cannot judge.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.deploy.gcp_fake.core import ApiError, JsonDict, Request, Routes, new_id, now_rfc3339

if TYPE_CHECKING:
    from tests.deploy.gcp_fake.server import Fake

routes = Routes()
TERM = re.compile(
    r'^\s*(?P<field>[A-Za-z_@][\w.@/-]*)\s*(?P<op>>=|<=|!=|=|>|<|:)\s*(?P<value>"(?:[^"\\]|\\.)*"|[\w.:+-]+|\*)\s*$'
)


def write(fake: Fake, entry: JsonDict) -> None:
    """Store one LogEntry (timestamps and ids filled in)."""
    now = now_rfc3339()
    fake.data.setdefault("log_entries", []).append(
        {"insertId": new_id()[:12], "timestamp": now, "receiveTimestamp": now, **entry}
    )


def _field(entry: JsonDict, path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _matches(entry: JsonDict, term: re.Match[str]) -> bool:
    value = term["value"]
    expected = value[1:-1].replace('\\"', '"') if value.startswith('"') else value
    actual = _field(entry, term["field"])
    if value == "*":  # FIELD:* — present, whatever its value
        return term["op"] == ":" and actual is not None
    if actual is None:
        return term["op"] == "!="
    text = str(actual)
    op = term["op"]
    if op in ("=", ":"):
        return text == expected or (op == ":" and expected in text)
    if op == "!=":
        return text != expected
    left, right = _comparable(term["field"], actual, expected)
    return bool({">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op])


SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")


def _comparable(field: str, actual: Any, expected: str) -> tuple[Any, Any]:
    """Values ordered as Logging orders them: severities by level, timestamps as instants, numbers as numbers."""
    if field == "severity":
        return SEVERITIES.index(str(actual)), SEVERITIES.index(expected.upper())
    if field in ("timestamp", "receiveTimestamp"):
        return _instant(str(actual)), _instant(expected)
    if isinstance(actual, (int, float)):
        return float(actual), float(expected)
    return str(actual), expected


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def select(entries: list[JsonDict], query: str) -> list[JsonDict]:
    """The entries a filter of ANDed comparisons selects."""
    terms = []
    for part in re.split(r"\s+AND\s+", query.strip()) if query.strip() else []:
        part = part.strip()
        while part.startswith("(") and part.endswith(")"):
            part = part[1:-1].strip()
        match = TERM.match(part)
        if match is None:
            raise ApiError(400, f"gcp_fake cannot judge this part of the filter: {part!r}")
        terms.append(match)
    return [entry for entry in entries if all(_matches(entry, term) for term in terms)]


@routes.post("logging", r"/v2/entries:list")
def list_entries(fake: Fake, request: Request) -> JsonDict:
    body = request.json()
    for resource in body.get("resourceNames", []):
        fake.check_project(resource.split("/")[1])
    found = select(fake.data.get("log_entries", []), body.get("filter", ""))
    found.sort(key=lambda entry: entry["timestamp"], reverse="desc" in body.get("orderBy", ""))
    size = int(body.get("pageSize") or 1000)
    return {"entries": found[:size]} if found else {}
