#!/usr/bin/env bash
# The three service accounts and exactly the roles each one needs (deploy/README.md, "Who may do what").
#
#   worker    (runs the Cloud Run worker)
#     project:          roles/datastore.user            Firestore documents (sessions, needs, leases)
#     project:          custom role $JOB_ROLE_ID        create/read/update/delete the one-shot scheduler jobs
#     scheduler SA:     roles/iam.serviceAccountUser    put the scheduler SA's OIDC identity on those jobs
#     client secret:    roles/secretmanager.secretAccessor        TESLA_CLIENT_SECRET (secretKeyRef)
#     token secret:     roles/secretmanager.secretAccessor        read the token record
#                       roles/secretmanager.secretVersionAdder    store each refreshed record
#                       roles/secretmanager.secretVersionManager  destroy old versions (each enabled one is billed)
#   scout     (runs the 2nd-gen function)
#     project:          roles/datastore.user            its own state between ticks
#     token secret:     roles/secretmanager.secretAccessor        read the access token (never refreshes)
#     worker service:   roles/run.invoker               call /scout-trigger, /get-token
#     command key:      roles/secretmanager.secretAccessor        the Tesla command-signing key (never the scout)
#   scheduler (the identity of every Cloud Scheduler job, static and dynamic)
#     worker service:   roles/run.invoker
#     scout service:    roles/run.invoker               the every-15-minutes job
#   build     (runs the worker's image build and the function's build, instead of the Compute
#              Engine default account new projects build as since 2024)
#     project:          roles/logging.logWriter         build logs (Cloud Logging only)
#     project, if:      roles/storage.objectViewer      only objects of the two source buckets (IAM condition)
#     repositories:     roles/artifactregistry.writer   tesla-offpeak and gcf-artifacts only
#
# Nothing gets owner, editor or any project-wide Secret Manager or Cloud Run role.
# Run alone (`deploy/iam.sh`) it re-applies every grant; the deploy calls the three steps in order.

# Cloud Scheduler permissions of the worker: what roles/cloudscheduler.admin would give, minus
# pausing, running and location/project listing that the worker never does.
JOB_ROLE_PERMISSIONS="cloudscheduler.jobs.create,cloudscheduler.jobs.delete,cloudscheduler.jobs.fullView,cloudscheduler.jobs.get,cloudscheduler.jobs.list,cloudscheduler.jobs.update"

# SERVICE_ACCOUNTS: the project's service account e-mails, read once (create adds to it).
SERVICE_ACCOUNTS=""
SERVICE_ACCOUNTS_READ=0
read_service_accounts() {
  ((SERVICE_ACCOUNTS_READ == 0)) || return 0
  gc_get SERVICE_ACCOUNTS iam service-accounts list --format='value(email)' || SERVICE_ACCOUNTS=""
  SERVICE_ACCOUNTS_READ=1
}

ensure_service_account() {
  local name="$1" title="$2" email
  email="$(sa_email "$name")"
  read_service_accounts
  if listed "$email" "$SERVICE_ACCOUNTS"; then
    note "service account $email exists"
  else
    gc iam service-accounts create "$name" "--display-name=$title" --format=none
    SERVICE_ACCOUNTS+=$'\n'"$email"
  fi
}

# ensure_job_role: the worker's custom role with exactly JOB_ROLE_PERMISSIONS.
ensure_job_role() {
  local roles="" state=""
  gc_get roles iam roles list "--project=$GOOGLE_CLOUD_PROJECT" --show-deleted --format='value(name.basename())' || true
  if listed "$JOB_ROLE_ID" "$roles" &&
    gc_get state iam roles describe "$JOB_ROLE_ID" --format='value(deleted,includedPermissions)'; then
    local deleted="${state%%$'\t'*}" permissions="${state#*$'\t'}"
    if [[ "${deleted,,}" == true ]]; then
      # A deleted custom role keeps its ID for weeks: bring it back instead of failing.
      gc iam roles undelete "$JOB_ROLE_ID" --format=none
    fi
    if [[ "$(sorted_list "${permissions//;/,}")" != "$(sorted_list "$JOB_ROLE_PERMISSIONS")" ]]; then
      gc iam roles update "$JOB_ROLE_ID" "--permissions=$JOB_ROLE_PERMISSIONS" --format=none
    else
      note "custom role $JOB_ROLE_ID is up to date"
    fi
  else
    gc iam roles create "$JOB_ROLE_ID" --title='Tesla offpeak job manager' \
      --description='Create and delete the one-shot Cloud Scheduler jobs of tesla-offpeak' \
      "--permissions=$JOB_ROLE_PERMISSIONS" --stage=GA --format=none
  fi
}

sorted_list() { tr ',' '\n' <<<"$1" | sed '/^$/d' | LC_ALL=C sort | tr '\n' ','; }

# iam_setup_accounts: the accounts, their project-level roles, and the worker's actAs on the scheduler SA.
iam_setup_accounts() {
  log "service accounts and project roles"
  ensure_service_account "$WORKER_SA_NAME" "tesla-offpeak worker (Cloud Run)"
  ensure_service_account "$SCOUT_SA_NAME" "tesla-offpeak scout (Cloud Functions)"
  ensure_service_account "$SCHEDULER_SA_NAME" "tesla-offpeak scheduler invoker (Cloud Scheduler OIDC)"
  ensure_service_account "$BUILD_SA_NAME" "tesla-offpeak builds (Cloud Build)"
  ensure_job_role
  ensure_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" roles/datastore.user
  ensure_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$SCOUT_SA" roles/datastore.user
  ensure_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$WORKER_SA" \
    "projects/$GOOGLE_CLOUD_PROJECT/roles/$JOB_ROLE_ID"
  # actAs on the scheduler account only: the worker cannot borrow any other identity.
  ensure_binding serviceaccount "$SCHEDULER_SA" "serviceAccount:$WORKER_SA" roles/iam.serviceAccountUser
  ensure_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$BUILD_SA" roles/logging.logWriter
  project_number
  # Firestore and logs grant only at project level; sources are read by object name, so a
  # condition keeps the build account out of every other bucket of the project.
  ensure_binding project "$GOOGLE_CLOUD_PROJECT" "serviceAccount:$BUILD_SA" roles/storage.objectViewer \
    "$BUILD_SOURCES_TITLE" "$(build_sources_condition)"
}

BUILD_SOURCES_TITLE="tesla-offpeak build sources"

# build_sources_condition: the objects of our source bucket and of Cloud Functions' source bucket.
build_sources_condition() {
  printf 'resource.name.startsWith("projects/_/buckets/%s/") || resource.name.startsWith("projects/_/buckets/gcf-v2-sources-%s-%s/")' \
    "$SOURCE_BUCKET" "$PROJECT_NUMBER" "$GOOGLE_CLOUD_LOCATION"
}

# iam_grant_repository_roles: the build account may push to the two image repositories (which must exist).
iam_grant_repository_roles() {
  ensure_binding repository "$ARTIFACT_REPOSITORY" "serviceAccount:$BUILD_SA" roles/artifactregistry.writer
  ensure_binding repository "$FUNCTIONS_REPOSITORY" "serviceAccount:$BUILD_SA" roles/artifactregistry.writer
}

# iam_grant_secret_roles: per-secret grants (the secrets must exist).
iam_grant_secret_roles() {
  log "secret access"
  ensure_binding secret "$CLIENT_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretVersionAdder
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretVersionManager
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$SCOUT_SA" roles/secretmanager.secretAccessor
  if [[ "${COMMAND_KEY_STORED:-0}" == 1 ]]; then
    # The signing key is the worker's alone: the scout never sends commands.
    ensure_binding secret "$TESLA_COMMAND_KEY_SECRET" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  fi
}

# iam_grant_invoker_roles: who may call the two services (both must exist); nobody else, and never the public.
iam_grant_invoker_roles() {
  log "who may call the worker and the scout"
  ensure_not_public "$WORKER_SERVICE_NAME"
  ensure_binding run "$WORKER_SERVICE_NAME" "serviceAccount:$SCOUT_SA" roles/run.invoker
  ensure_binding run "$WORKER_SERVICE_NAME" "serviceAccount:$SCHEDULER_SA" roles/run.invoker
  # A 2nd-gen function is served by a Cloud Run service of the same name.
  ensure_not_public "$SCOUT_FUNCTION_NAME"
  ensure_binding run "$SCOUT_FUNCTION_NAME" "serviceAccount:$SCHEDULER_SA" roles/run.invoker
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=deploy/lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  load_config
  require GOOGLE_CLOUD_PROJECT
  set_account_emails
  make_work_dir
  iam_setup_accounts
  read_secret_names
  ! listed "$TESLA_COMMAND_KEY_SECRET" "$SECRET_NAMES" || COMMAND_KEY_STORED=1
  iam_grant_secret_roles
  iam_grant_repository_roles
  iam_grant_invoker_roles
fi
