#!/usr/bin/env bash
# After a deploy: is it up, is it private, and do the scheduler jobs get through?
#
#   1. the worker refuses a request without credentials (Cloud Run IAM: 401/403, never 200)
#   2. the worker's /health answers 200 to your own Google ID token (your account needs
#      run.invoker on the worker, which project owners have); per VIN it shows whether the key is
#      paired and commands are signed (the `vehicles` field, when the worker reports it)
#   3. the scout refuses a request without credentials
#   4. the three static scheduler jobs exist, the deprecated one does not
#   5. each static job delivers: it is run once (`gcloud scheduler jobs run`), then the job's own
#      log (resource.type="cloud_scheduler_job") and the target's request log say how the attempt
#      ended; a refused OIDC token or audience fails with the reason. The failsafe cycle may wake
#      the car (one billed wake). SMOKE_RUN_JOBS=0 skips this step.
#   6. with SMOKE_AS_SCHEDULER=1: GET /scheduler-jobs as the scheduler account, which the worker's
#      own check accepts (needs roles/iam.serviceAccountTokenCreator on that account for you)
#
# Tokens reach curl through a file descriptor, never on its command line. Exit status 0 = all passed.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAILURES=0
pass() { printf 'PASS  %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  FAILURES=$((FAILURES + 1))
}

# http_status URL [TOKEN_VAR]: the HTTP status of a GET (000 when unreachable); body in $WORK_DIR/body.
http_status() {
  local url="$1" token_var="${2:-}"
  local -a curl_args=(--silent --show-error --max-time "${SMOKE_TIMEOUT_SECONDS:-60}" --output "$WORK_DIR/body" --write-out '%{http_code}')
  if [[ -n "$token_var" ]]; then
    curl "${curl_args[@]}" --header @<(printf 'Authorization: Bearer %s\n' "${!token_var}") "$url" 2>/dev/null || true
  else
    curl "${curl_args[@]}" "$url" 2>/dev/null || true
  fi
}

check_refuses_anonymous() {
  local what="$1" url="$2" status
  status="$(http_status "$url")"
  case "$status" in
  401 | 403) pass "$what refuses anonymous callers ($status)" ;;
  2??) fail "$what answered $status without credentials: it is PUBLIC; run ./deploy_scout_worker.sh to fix" ;;
  *) fail "$what: expected 401 or 403 without credentials, got $status" ;;
  esac
}

# print_vehicles: the `vehicles` map of the /health answer in $WORK_DIR/body, one VIN a line.
print_vehicles() {
  command -v python3 >/dev/null 2>&1 || return 0
  python3 - "$WORK_DIR/body" <<'PY' || true
import json, sys
vehicles = json.load(open(sys.argv[1])).get("vehicles") or {}
for vin, info in sorted(vehicles.items()):
    fields = ", ".join(f"{key}={value}" for key, value in sorted(info.items()))
    print(f"      {vin}: {fields}")
PY
}

check_worker_health() {
  local token="" status
  if ! gc_get token auth print-identity-token || [[ -z "$token" ]]; then
    fail "no Google ID token for your account (run: gcloud auth login)"
    return 0
  fi
  status="$(http_status "$WORKER_URL/health" token)"
  if [[ "$status" == 200 ]] && grep -q '"ok"' "$WORK_DIR/body"; then
    pass "worker /health answers 200 ok"
    print_vehicles
  else
    fail "worker /health answered $status: $(head -c 300 "$WORK_DIR/body" 2>/dev/null || true)"
  fi
}

check_jobs() {
  local names="" name
  gc_get names scheduler jobs list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())'
  for name in "$SCOUT_JOB" "$DAILY_CHECK_JOB" "$FAILSAFE_JOB"; do
    if listed "$name" "$names"; then pass "scheduler job $name exists"; else fail "scheduler job $name is missing"; fi
  done
  if listed "$DEPRECATED_JOB" "$names"; then
    fail "the deprecated job $DEPRECATED_JOB still exists"
  fi
  JOB_NAMES="$names"
  printf '\nScheduler jobs in %s (one-shot special-* jobs belong to charging sessions):\n%s\n\n' \
    "$GOOGLE_CLOUD_LOCATION" "$names"
}

# attempt_of JOB SINCE: "HTTP_STATUS<TAB>STATUS" of the job's first attempt that finished after SINCE.
attempt_of() {
  local job="$1" since="$2" found=""
  gc_get found logging read "resource.type=\"cloud_scheduler_job\" AND resource.labels.job_id=\"$job\" AND jsonPayload.@type=\"type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished\" AND timestamp>=\"$since\"" \
    --freshness=1h --order=asc --limit=1 --format='value(httpRequest.status,jsonPayload.status)'
  printf '%s' "$found"
}

# target_log SERVICE SINCE: what the target service logged at WARNING or above since SINCE.
target_log() {
  local found=""
  gc_get found logging read "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$1\" AND severity>=WARNING AND timestamp>=\"$2\"" \
    --freshness=1h --limit=5 --format='value(httpRequest.status,textPayload,jsonPayload.message)'
  printf '%s' "$found"
}

# check_delivery JOB SERVICE AUDIENCE: run JOB once and judge its attempt from the logs.
check_delivery() {
  local job="$1" service="$2" audience="$3" since attempt="" waited=0 code reason
  listed "$job" "$JOB_NAMES" || return 0
  since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  gc scheduler jobs run "$job" "--location=$GOOGLE_CLOUD_LOCATION" --format=none
  while :; do
    attempt="$(attempt_of "$job" "$since")"
    [[ -z "$attempt" && "$waited" -lt "${SMOKE_WAIT_SECONDS:-360}" ]] || break
    sleep "${SMOKE_POLL_SECONDS:-15}"
    waited=$((waited + ${SMOKE_POLL_SECONDS:-15}))
  done
  if [[ -z "$attempt" ]]; then
    fail "$job: no finished attempt in its log after ${waited}s (logs can lag; run the smoke check again)"
    return 0
  fi
  code="$(cut -f1 <<<"$attempt")"
  reason="$(cut -f2 <<<"$attempt")"
  case "$code" in
  2??) pass "$job delivered: $service answered $code" ;;
  401) fail "$job: $service refused the job's OIDC token ($code ${reason:-UNAUTHENTICATED}): its audience must be $audience and its account $SCHEDULER_SA; run ./deploy_scout_worker.sh to re-apply the jobs" ;;
  403)
    local also=""
    [[ "$service" != "$WORKER_SERVICE_NAME" ]] || also=" and must be in the worker's WORKER_ALLOWED_INVOKERS"
    fail "$job: $service refused the caller ($code ${reason:-PERMISSION_DENIED}): $SCHEDULER_SA needs roles/run.invoker on $service$also; run ./deploy_scout_worker.sh to re-apply the grants"
    ;;
  *) fail "$job: the attempt ended with HTTP $code ${reason}" ;;
  esac
  if [[ "$code" != 2?? ]]; then
    printf '      %s logged:\n' "$service"
    target_log "$service" "$since" | sed 's/^/        /'
    printf '\n'
  fi
}

check_jobs_as_scheduler() {
  local token="" status
  if ! gc_get token auth print-identity-token "--impersonate-service-account=$SCHEDULER_SA" \
    "--audiences=$WORKER_URL" --include-email || [[ -z "$token" ]]; then
    fail "no ID token for $SCHEDULER_SA (you need roles/iam.serviceAccountTokenCreator on it)"
    return 0
  fi
  status="$(http_status "$WORKER_URL/scheduler-jobs" token)"
  if [[ "$status" == 200 ]]; then
    pass "GET /scheduler-jobs as the scheduler account: $(head -c 500 "$WORK_DIR/body")"
  else
    fail "GET /scheduler-jobs as the scheduler account answered $status"
  fi
}

main() {
  load_config
  require GOOGLE_CLOUD_PROJECT
  set_account_emails
  make_work_dir
  is_dry_run && die "the smoke check reads the live deployment; run it without DRY_RUN"
  command -v curl >/dev/null 2>&1 || die "curl is needed"

  gc_get WORKER_URL run services list "--region=$GOOGLE_CLOUD_LOCATION" "--filter=metadata.name=$WORKER_SERVICE_NAME" \
    --format='value(status.url)'
  [[ -n "$WORKER_URL" ]] || die "no worker service $WORKER_SERVICE_NAME in $GOOGLE_CLOUD_LOCATION: deploy first"
  local functions=""
  gc_get functions functions list "--regions=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename(),serviceConfig.uri)'
  SCOUT_URL="$(row_of "$SCOUT_FUNCTION_NAME" "$functions" | cut -f2)"
  [[ -n "$SCOUT_URL" ]] || die "no function $SCOUT_FUNCTION_NAME in $GOOGLE_CLOUD_LOCATION: deploy first"
  printf 'worker %s\nscout  %s\n\n' "$WORKER_URL" "$SCOUT_URL"

  check_refuses_anonymous "worker" "$WORKER_URL/health"
  check_worker_health
  check_refuses_anonymous "scout" "$SCOUT_URL"
  check_jobs
  if [[ "${SMOKE_RUN_JOBS:-1}" != 0 ]]; then
    check_delivery "$SCOUT_JOB" "$SCOUT_FUNCTION_NAME" "$SCOUT_URL"
    check_delivery "$DAILY_CHECK_JOB" "$WORKER_SERVICE_NAME" "$WORKER_URL"
    check_delivery "$FAILSAFE_JOB" "$WORKER_SERVICE_NAME" "$WORKER_URL"
  fi
  if [[ "${SMOKE_AS_SCHEDULER:-0}" == 1 ]]; then
    check_jobs_as_scheduler
  fi

  if ((FAILURES > 0)); then
    printf '%d check(s) failed\n' "$FAILURES"
    exit 1
  fi
  printf 'all checks passed\n'
}

main "$@"
