#!/usr/bin/env bash
# Remove everything deploy_scout_worker.sh made: scheduler jobs (the static ones, the deprecated one
# and the worker's one-shot special-* jobs), the alert policy and its e-mail channel, the function,
# the worker service (and with it the owners' access), its image repositories (gcf-artifacts only
# when the deploy made it), the build source bucket, the secrets, the custom role, the
# project-level grants and the four service accounts.
#
#   deploy/teardown.sh            # asks you to type the project ID
#   deploy/teardown.sh --yes      # no question (scripts)
#   DRY_RUN=1 deploy/teardown.sh  # print the commands only
#
# Kept unless asked: the Firestore (default) database (TEARDOWN_FIRESTORE=1 deletes it, with all
# its documents) and the enabled APIs. KEEP_TOKENS=1 keeps the token secret (fleet-tokens), so a
# later deploy can go on with the same Tesla authorisation.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/project.sh
source "$DEPLOY_DIR/project.sh"
# shellcheck source=deploy/alerts.sh
source "$DEPLOY_DIR/alerts.sh"

confirm() {
  [[ "${1:-}" == --yes || "${1:-}" == -y ]] && return 0
  is_dry_run && return 0
  if [[ ! -t 0 ]]; then
    die "refusing to delete without confirmation: run deploy/teardown.sh --yes"
  fi
  local answer
  printf 'This deletes the tesla-offpeak deployment in project %s. Type the project ID to go on: ' "$GOOGLE_CLOUD_PROJECT" >&2
  read -r answer
  [[ "$answer" == "$GOOGLE_CLOUD_PROJECT" ]] || die "not confirmed: nothing deleted"
}

# Every read below is a list (or the list of enabled APIs): what is not listed is not there, and
# an API that is not enabled holds nothing, so a never-deployed project tears down cleanly.

delete_scheduler_jobs() {
  log "scheduler jobs"
  local names="" name
  if ! api_enabled cloudscheduler.googleapis.com; then
    note "Cloud Scheduler API not enabled: no jobs"
    return 0
  fi
  if ! gc_get names scheduler jobs list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())'; then
    # DRY_RUN lists nothing: show the deletes of the static jobs (one-shot ones are found live).
    names="$(printf '%s\n' "$SCOUT_JOB" "$DAILY_CHECK_JOB" "$FAILSAFE_JOB" "$DEPRECATED_JOB")"
  fi
  while IFS= read -r name; do
    name="${name##*/}"
    case "$name" in
    "$SCOUT_JOB" | "$DAILY_CHECK_JOB" | "$FAILSAFE_JOB" | "$DEPRECATED_JOB" | "$DYNAMIC_JOB_PREFIX"*)
      gc scheduler jobs delete "$name" "--location=$GOOGLE_CLOUD_LOCATION"
      ;;
    esac
  done <<<"$names"
}

# delete_listed WHAT NAME LIST DELETE_ARGS...: run the delete when NAME is in LIST (always under DRY_RUN).
delete_listed() {
  local what="$1" name="$2" list="$3"
  shift 3
  if is_dry_run || listed "$name" "$list"; then
    gc "$@"
  else
    note "$what $name: not there"
  fi
}

delete_services() {
  log "services"
  local functions="" services=""
  if api_enabled cloudfunctions.googleapis.com; then
    gc_get functions functions list "--regions=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())' || true
    delete_listed function "$SCOUT_FUNCTION_NAME" "$functions" functions delete "$SCOUT_FUNCTION_NAME" "--region=$GOOGLE_CLOUD_LOCATION"
  fi
  if api_enabled run.googleapis.com; then
    gc_get services run services list "--region=$GOOGLE_CLOUD_LOCATION" --format='value(metadata.name)' || true
    delete_listed "Cloud Run service" "$WORKER_SERVICE_NAME" "$services" \
      run services delete "$WORKER_SERVICE_NAME" "--region=$GOOGLE_CLOUD_LOCATION"
  fi
}

delete_project_grants() {
  log "project grants and the custom role"
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" roles/datastore.user
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$SCOUT_SA" roles/datastore.user
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" "projects/$GOOGLE_CLOUD_PROJECT/roles/$JOB_ROLE_ID"
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$BUILD_SA" roles/logging.logWriter
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$BUILD_SA" roles/storage.objectViewer
  api_enabled iam.googleapis.com || return 0
  local roles="" deleted=""
  gc_get roles iam roles list "--project=$GOOGLE_CLOUD_PROJECT" --show-deleted --format='value(name.basename(),deleted)' || true
  deleted="$(row_of "$JOB_ROLE_ID" "$roles" | cut -f2)"
  if is_dry_run || { listed "$JOB_ROLE_ID" "$roles" && [[ "${deleted,,}" != true ]]; }; then
    gc iam roles delete "$JOB_ROLE_ID" --format=none
  fi
}

delete_secrets() {
  api_enabled secretmanager.googleapis.com || return 0
  read_secret_names
  delete_listed secret "$CLIENT_SECRET_NAME" "$SECRET_NAMES" secrets delete "$CLIENT_SECRET_NAME"
  delete_listed secret "$TESLA_COMMAND_KEY_SECRET" "$SECRET_NAMES" secrets delete "$TESLA_COMMAND_KEY_SECRET"
  delete_listed secret "$ALERT_WEBHOOK_SECRET_NAME" "$SECRET_NAMES" secrets delete "$ALERT_WEBHOOK_SECRET_NAME"
  delete_listed secret "$ENTSOE_SECRET_NAME" "$SECRET_NAMES" secrets delete "$ENTSOE_SECRET_NAME"
  if [[ "${KEEP_TOKENS:-0}" == 1 ]]; then
    note "KEEP_TOKENS=1: $TOKENS_SECRET_NAME kept"
  else
    delete_listed secret "$TOKENS_SECRET_NAME" "$SECRET_NAMES" secrets delete "$TOKENS_SECRET_NAME"
  fi
}

# delete_images: our repository; gcf-artifacts only when this deploy made it (label app=tesla-offpeak).
delete_images() {
  local repositories="" buckets=""
  if api_enabled artifactregistry.googleapis.com; then
    gc_get repositories artifacts repositories list "--location=$GOOGLE_CLOUD_LOCATION" \
      --format='value(name.basename(),labels.app)' || true
    delete_listed repository "$ARTIFACT_REPOSITORY" "$repositories" \
      artifacts repositories delete "$ARTIFACT_REPOSITORY" "--location=$GOOGLE_CLOUD_LOCATION"
    if [[ "$(row_of "$FUNCTIONS_REPOSITORY" "$repositories" | cut -f2)" == tesla-offpeak ]] || is_dry_run; then
      gc artifacts repositories delete "$FUNCTIONS_REPOSITORY" "--location=$GOOGLE_CLOUD_LOCATION"
    elif listed "$FUNCTIONS_REPOSITORY" "$repositories"; then
      note "kept: $FUNCTIONS_REPOSITORY, which this deploy did not make"
    fi
  fi
  gc_get buckets storage buckets list --format='value(name)' || true
  delete_listed bucket "$SOURCE_BUCKET" "$buckets" storage rm --recursive "gs://$SOURCE_BUCKET"
}

delete_service_accounts() {
  log "service accounts"
  api_enabled iam.googleapis.com || return 0
  local accounts="" email
  gc_get accounts iam service-accounts list --format='value(email)' || true
  for email in "$WORKER_SA" "$SCOUT_SA" "$SCHEDULER_SA" "$BUILD_SA"; do
    delete_listed "service account" "$email" "$accounts" iam service-accounts delete "$email"
  done
}

delete_firestore() {
  if [[ "${TEARDOWN_FIRESTORE:-0}" != 1 ]]; then
    note "kept: the Firestore (default) database (TEARDOWN_FIRESTORE=1 deletes it) and the enabled APIs"
    return 0
  fi
  log "Firestore (default) database, with every document in it"
  api_enabled firestore.googleapis.com || return 0
  local databases=""
  gc_get databases firestore databases list --format='value(name.basename())' || true
  delete_listed database '(default)' "$databases" firestore databases delete '--database=(default)' --format=none
}

main() {
  load_config
  require GOOGLE_CLOUD_PROJECT
  set_account_emails
  make_work_dir
  confirm "${1:-}"
  log "tearing down tesla-offpeak in project $GOOGLE_CLOUD_PROJECT, region $GOOGLE_CLOUD_LOCATION"
  read_enabled_apis
  is_dry_run && ENABLED_APIS="$(printf '%s\n' "${REQUIRED_APIS[@]}" monitoring.googleapis.com)"

  delete_scheduler_jobs
  # Before the worker: the policy watches its logs, and each month it stays is billed.
  alerts_teardown
  delete_services
  delete_project_grants
  log "secrets, images and build sources"
  delete_secrets
  delete_images
  delete_service_accounts
  delete_firestore
  note "not ours to delete: Cloud Functions' source buckets (gcf-v2-sources-*, gcf-v2-uploads-*); delete"
  note "them if nothing else in the project uses Cloud Functions"
  log "done"
}

main "$@"
