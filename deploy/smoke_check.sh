#!/usr/bin/env bash
# After a deploy: is it up, and is it private?
#
#   1. the worker refuses a request without credentials (Cloud Run IAM: 401/403, never 200)
#   2. the worker's /health answers 200 to your own Google ID token (your account needs
#      run.invoker on the worker, which project owners have)
#   3. the scout refuses a request without credentials
#   4. the three static scheduler jobs exist, the deprecated one does not
#   5. with SMOKE_AS_SCHEDULER=1: GET /scheduler-jobs as the scheduler account, which the worker's
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

check_worker_health() {
  local token="" status
  if ! gc_get token auth print-identity-token || [[ -z "$token" ]]; then
    fail "no Google ID token for your account (run: gcloud auth login)"
    return 0
  fi
  status="$(http_status "$WORKER_URL/health" token)"
  if [[ "$status" == 200 ]] && grep -q '"ok"' "$WORK_DIR/body"; then
    pass "worker /health answers 200 ok"
  else
    fail "worker /health answered $status: $(head -c 300 "$WORK_DIR/body" 2>/dev/null || true)"
  fi
}

check_jobs() {
  local names="" name
  if ! gc_get names scheduler jobs list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())'; then
    fail "cannot list the scheduler jobs in $GOOGLE_CLOUD_LOCATION"
    return 0
  fi
  local -a found=()
  while IFS= read -r name; do
    [[ -z "$name" ]] || found+=("${name##*/}")
  done <<<"$names"
  names="$(printf '%s\n' "${found[@]}")"
  for name in "$SCOUT_JOB" "$DAILY_CHECK_JOB" "$FAILSAFE_JOB"; do
    if grep -Fxq "$name" <<<"$names"; then pass "scheduler job $name exists"; else fail "scheduler job $name is missing"; fi
  done
  if grep -Fxq "$DEPRECATED_JOB" <<<"$names"; then
    fail "the deprecated job $DEPRECATED_JOB still exists"
  fi
  printf '\nScheduler jobs in %s (one-shot special-* jobs belong to charging sessions):\n%s\n\n' \
    "$GOOGLE_CLOUD_LOCATION" "$names"
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

  gc_get WORKER_URL run services describe "$WORKER_SERVICE_NAME" "--region=$GOOGLE_CLOUD_LOCATION" \
    --format='value(status.url)' || die "no worker service $WORKER_SERVICE_NAME in $GOOGLE_CLOUD_LOCATION: deploy first"
  gc_get SCOUT_URL functions describe "$SCOUT_FUNCTION_NAME" "--region=$GOOGLE_CLOUD_LOCATION" \
    --format='value(serviceConfig.uri)' || die "no function $SCOUT_FUNCTION_NAME in $GOOGLE_CLOUD_LOCATION: deploy first"
  printf 'worker %s\nscout  %s\n\n' "$WORKER_URL" "$SCOUT_URL"

  check_refuses_anonymous "worker" "$WORKER_URL/health"
  check_worker_health
  check_refuses_anonymous "scout" "$SCOUT_URL"
  check_jobs
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
