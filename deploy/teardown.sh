#!/usr/bin/env bash
# Remove everything deploy_scout_worker.sh made: scheduler jobs (the static ones, the deprecated one
# and the worker's one-shot special-* jobs), the function, the worker service, its images, the two
# secrets, the custom role, the project-level grants and the three service accounts.
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

delete_scheduler_jobs() {
  log "scheduler jobs"
  local names="" name
  if ! gc_get names scheduler jobs list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())'; then
    # DRY_RUN lists nothing: show the deletes of the static jobs (one-shot ones are found live).
    if is_dry_run; then
      names="$(printf '%s\n' "$SCOUT_JOB" "$DAILY_CHECK_JOB" "$FAILSAFE_JOB" "$DEPRECATED_JOB")"
    fi
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

delete_if_present() {
  local what="$1"
  shift
  local -a describe=() delete=()
  case "$what" in
  function)
    describe=(functions describe "$1" "--region=$GOOGLE_CLOUD_LOCATION")
    delete=(functions delete "$1" "--region=$GOOGLE_CLOUD_LOCATION")
    ;;
  run-service)
    describe=(run services describe "$1" "--region=$GOOGLE_CLOUD_LOCATION")
    delete=(run services delete "$1" "--region=$GOOGLE_CLOUD_LOCATION")
    ;;
  secret)
    describe=(secrets describe "$1")
    delete=(secrets delete "$1")
    ;;
  repository)
    describe=(artifacts repositories describe "$1" "--location=$GOOGLE_CLOUD_LOCATION")
    delete=(artifacts repositories delete "$1" "--location=$GOOGLE_CLOUD_LOCATION")
    ;;
  service-account)
    describe=(iam service-accounts describe "$1")
    delete=(iam service-accounts delete "$1")
    ;;
  *) die "unknown kind $what" ;;
  esac
  if gc_get _ "${describe[@]}" --format='value(name)' || is_dry_run; then
    gc "${delete[@]}"
  else
    note "$what $1: not there"
  fi
}

delete_job_role() {
  local deleted=""
  if gc_get deleted iam roles describe "$JOB_ROLE_ID" --format='value(deleted)' || is_dry_run; then
    [[ "${deleted,,}" == true ]] || gc iam roles delete "$JOB_ROLE_ID"
  fi
}

main() {
  load_config
  require GOOGLE_CLOUD_PROJECT
  set_account_emails
  make_work_dir
  confirm "${1:-}"
  log "tearing down tesla-offpeak in project $GOOGLE_CLOUD_PROJECT, region $GOOGLE_CLOUD_LOCATION"

  delete_scheduler_jobs
  log "services"
  delete_if_present function "$SCOUT_FUNCTION_NAME"
  delete_if_present run-service "$WORKER_SERVICE_NAME"
  log "project grants and the custom role"
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" roles/datastore.user
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$SCOUT_SA" roles/datastore.user
  remove_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" "projects/$GOOGLE_CLOUD_PROJECT/roles/$JOB_ROLE_ID"
  delete_job_role
  log "secrets and images"
  delete_if_present secret "$CLIENT_SECRET_NAME"
  if [[ "${KEEP_TOKENS:-0}" == 1 ]]; then
    note "KEEP_TOKENS=1: $TOKENS_SECRET_NAME kept"
  else
    delete_if_present secret "$TOKENS_SECRET_NAME"
  fi
  delete_if_present repository "$ARTIFACT_REPOSITORY"
  log "service accounts"
  delete_if_present service-account "$WORKER_SA"
  delete_if_present service-account "$SCOUT_SA"
  delete_if_present service-account "$SCHEDULER_SA"

  if [[ "${TEARDOWN_FIRESTORE:-0}" == 1 ]]; then
    log "Firestore (default) database, with every document in it"
    if gc_get _ firestore databases describe '--database=(default)' --format='value(name)' || is_dry_run; then
      gc firestore databases delete '--database=(default)'
    fi
  else
    note "kept: the Firestore (default) database (TEARDOWN_FIRESTORE=1 deletes it) and the enabled APIs"
  fi
  note "not ours to delete: Cloud Build's source bucket (gs://${GOOGLE_CLOUD_PROJECT}_cloudbuild) and the"
  note "gcf-artifacts repository Cloud Functions made; delete them if nothing else in the project uses them"
  log "done"
}

main "$@"
