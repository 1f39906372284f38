#!/usr/bin/env bash
# The three static Cloud Scheduler jobs, all calling with an OIDC token of the scheduler SA whose
# audience is the target's base URL (what the worker checks, contract section 5):
#
#   tesla-scout-every-15-min             */15 * * * *  Etc/UTC    scout function
#   tesla-daily-special-charging-check   0 23 * * *    $TIMEZONE  POST /daily-special-charging-check
#   tesla-run-cycle-failsafe             0 0 * * *     $TIMEZONE  POST /run-cycle
#
# TIMEZONE is the household's (default Europe/Warsaw). The one-shot special-* jobs are the worker's.
# Existing jobs are updated in place; the deprecated tesla-special-charging-cleanup is deleted.
#
# Timeouts agree: a job must not give up (attempt deadline) while its target still works on the
# request, or Cloud Scheduler retries a request that is still running. Every deadline here is
# JOB_ATTEMPT_DEADLINE_SECONDS (320 s, the deadline the worker gives its own one-shot jobs,
# shared/ports.py HttpJob), above the worker's request timeout (WORKER_TIMEOUT_SECONDS, 300 s, in
# cloud-run-service-worker.yaml) and the scout function's (SCOUT_TIMEOUT_SECONDS, 300 s).
# Run alone (`deploy/scheduler.sh`) it re-applies the jobs against the deployed services.

# ensure_http_job NAME SCHEDULE TIME_ZONE URI AUDIENCE DEADLINE RETRIES DESCRIPTION
ensure_http_job() {
  local name="$1" schedule="$2" time_zone="$3" uri="$4" audience="$5" deadline="$6" retries="$7" description="$8"
  local -a spec=(
    "--location=$GOOGLE_CLOUD_LOCATION" "--schedule=$schedule" "--time-zone=$time_zone" "--uri=$uri"
    --http-method=post '--message-body={}' "--oidc-service-account-email=$SCHEDULER_SA"
    "--oidc-token-audience=$audience" "--attempt-deadline=$deadline" "--max-retry-attempts=$retries"
    --min-backoff=30s "--description=$description"
  )
  if listed "$name" "$JOB_NAMES"; then
    gc scheduler jobs update http "$name" "${spec[@]}" --update-headers=Content-Type=application/json --format=none
  else
    gc scheduler jobs create http "$name" "${spec[@]}" --headers=Content-Type=application/json --format=none
  fi
}

delete_job_if_present() {
  local name="$1"
  if listed "$name" "$JOB_NAMES"; then
    gc scheduler jobs delete "$name" "--location=$GOOGLE_CLOUD_LOCATION"
  fi
}

scheduler_setup() {
  log "Cloud Scheduler jobs"
  local deadline="${JOB_ATTEMPT_DEADLINE_SECONDS}s"
  gc_get JOB_NAMES scheduler jobs list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())' || JOB_NAMES=""
  # Every 15 minutes; no retries: the next tick comes soon and a retry would be a billed Tesla call.
  ensure_http_job "$SCOUT_JOB" '*/15 * * * *' Etc/UTC "$SCOUT_URL" "$SCOUT_URL" "$deadline" 0 \
    'tesla-offpeak scout: read the vehicle state without waking it'
  ensure_http_job "$DAILY_CHECK_JOB" '0 23 * * *' "$TIMEZONE" "$WORKER_URL/daily-special-charging-check" \
    "$WORKER_URL" "$deadline" 2 'tesla-offpeak: plan the special-charging needs of the next hours'
  ensure_http_job "$FAILSAFE_JOB" '0 0 * * *' "$TIMEZONE" "$WORKER_URL/run-cycle" \
    "$WORKER_URL" "$deadline" 2 'tesla-offpeak: nightly failsafe OFF PEAK cycle (may wake the vehicle)'
  # Replaced by the per-session cleanup jobs; left running it would act on nothing but cost money.
  delete_job_if_present "$DEPRECATED_JOB"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  # shellcheck source=deploy/worker.sh
  source "$DEPLOY_DIR/worker.sh"
  # shellcheck source=deploy/scout.sh
  source "$DEPLOY_DIR/scout.sh"
  load_config
  require GOOGLE_CLOUD_PROJECT
  set_account_emails
  make_work_dir
  worker_resolve_url
  scout_resolve_url
  scheduler_setup
fi
