#!/usr/bin/env bash
# The four service accounts and exactly the roles each one needs (deploy/README.md, "Who may do
# what"), and the owners' access to the worker.
#
#   worker    (runs the Cloud Run worker)
#     project:          roles/datastore.user            Firestore documents (sessions, needs, leases)
#     project:          custom role $JOB_ROLE_ID        create/read/update/delete the one-shot scheduler jobs
#     scheduler SA:     roles/iam.serviceAccountUser    put the scheduler SA's OIDC identity on those jobs
#     client secret:    roles/secretmanager.secretAccessor        TESLA_CLIENT_SECRET (secretKeyRef)
#     token secret:     roles/secretmanager.secretAccessor        read the token record
#                       roles/secretmanager.secretVersionAdder    store each refreshed record
#                       roles/secretmanager.secretVersionManager  destroy old versions (each enabled one is billed)
#     command key:      roles/secretmanager.secretAccessor        the Tesla command-signing key (never the scout)
#     webhook secret:   roles/secretmanager.secretAccessor        ALERT_WEBHOOK_URL (secretKeyRef), when set
#     ENTSO-E secret:   roles/secretmanager.secretAccessor        ENTSOE_API_TOKEN (secretKeyRef), when set
#   scout     (runs the 2nd-gen function)
#     project:          roles/datastore.user            its own state between ticks
#     token secret:     roles/secretmanager.secretAccessor        read the access token (never refreshes)
#     worker service:   roles/run.invoker               call /scout-trigger, /get-token
#   scheduler (the identity of every Cloud Scheduler job, static and dynamic)
#     worker service:   roles/run.invoker
#     scout service:    roles/run.invoker               the every-15-minutes job
#   build     (runs the worker's image build and the function's build, instead of the Compute
#              Engine default account new projects build as since 2024)
#     project:          roles/logging.logWriter         build logs (Cloud Logging only)
#     project, if:      roles/storage.objectViewer      only objects of the two source buckets (IAM condition)
#     repositories:     roles/artifactregistry.writer   tesla-offpeak and gcf-artifacts only
#   owners    (the deploying account and WORKER_OWNER_EMAILS: people, with their own Google identity)
#     worker service:   roles/run.invoker               the owner endpoints (needs, plan, status page)
#
# Nothing gets owner, editor or any project-wide Secret Manager or Cloud Run role.
# Run alone (`deploy/iam.sh`) it re-applies every grant of the service accounts; the owners' grants
# are the full deploy's (it records which ones it made on the worker service).

# Cloud Scheduler permissions of the worker: what roles/cloudscheduler.admin would give, minus
# pausing, running and location/project listing that the worker never does.
JOB_ROLE_PERMISSIONS="cloudscheduler.jobs.create,cloudscheduler.jobs.delete,cloudscheduler.jobs.fullView,cloudscheduler.jobs.get,cloudscheduler.jobs.list,cloudscheduler.jobs.update"

# SERVICE_ACCOUNTS: the project's service accounts, "email<TAB>uniqueId" lines, read once (create
# adds to it); SA_UNIQUE_IDS: the numeric unique id of each, by e-mail.
SERVICE_ACCOUNTS=""
SERVICE_ACCOUNTS_READ=0
declare -A SA_UNIQUE_IDS=()
read_service_accounts() {
  ((SERVICE_ACCOUNTS_READ == 0)) || return 0
  gc_get SERVICE_ACCOUNTS iam service-accounts list --format='value(email,uniqueId)' || SERVICE_ACCOUNTS=""
  local email id
  while IFS=$'\t' read -r email id; do
    [[ -z "$email" ]] || SA_UNIQUE_IDS["$email"]="$id"
  done <<<"$SERVICE_ACCOUNTS"
  SERVICE_ACCOUNTS_READ=1
}

ensure_service_account() {
  local name="$1" title="$2" email id=""
  email="$(sa_email "$name")"
  read_service_accounts
  if listed "$email" "$SERVICE_ACCOUNTS"; then
    note "service account $email exists"
  else
    # The id comes from the create's own answer: a list right after a create may not show the account yet.
    gc_out id iam service-accounts create "$name" "--display-name=$title" --format='value(uniqueId)'
    SERVICE_ACCOUNTS+=$'\n'"$email"$'\t'"$id"
    SA_UNIQUE_IDS["$email"]="$id"
  fi
}

# sa_unique_id VAR EMAIL: the account's numeric unique id (`iam service-accounts describe
# --format='value(uniqueId)'` when it was not read yet); a placeholder under DRY_RUN.
sa_unique_id() {
  local __id_var="$1" email="$2" __id="${SA_UNIQUE_IDS[$2]:-}"
  if [[ -z "$__id" ]] && ! is_dry_run; then
    gc_get __id iam service-accounts describe "$email" --format='value(uniqueId)'
  fi
  if is_dry_run && [[ -z "$__id" ]]; then
    __id=UNIQUE_ID
  fi
  [[ "$__id" =~ ^[0-9]+$ || "$__id" == UNIQUE_ID ]] || die "could not read the unique id of $email"
  SA_UNIQUE_IDS["$email"]="$__id"
  printf -v "$__id_var" '%s' "$__id"
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
  local name
  ensure_binding secret "$CLIENT_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretVersionAdder
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$WORKER_SA" roles/secretmanager.secretVersionManager
  ensure_binding secret "$TOKENS_SECRET_NAME" "serviceAccount:$SCOUT_SA" roles/secretmanager.secretAccessor
  if [[ "${COMMAND_KEY_STORED:-0}" == 1 ]]; then
    # The signing key is the worker's alone: the scout never sends commands.
    ensure_binding secret "$TESLA_COMMAND_KEY_SECRET" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
  fi
  # The optional secrets the worker reads by secretKeyRef (webhook URL, ENTSO-E token): the worker's only.
  for name in "$ALERT_WEBHOOK_SECRET_NAME" "$ENTSOE_SECRET_NAME"; do
    if [[ "${OPTIONAL_SECRET_STORED[$name]:-0}" == 1 ]]; then
      ensure_binding secret "$name" "serviceAccount:$WORKER_SA" roles/secretmanager.secretAccessor
    fi
  done
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

# ---------------------------------------------------------------------------------------------
# Owners: people who call the owner endpoints (needs, plan, status page) with their own Google
# identity. The worker lets them in by WORKER_OWNER_EMAILS; Cloud Run by roles/run.invoker on the
# worker service (not the project). Which grants the deploy made is kept in the worker service's
# annotation tesla-offpeak/owner-grants, so that only those are ever removed: a grant someone else
# made is never touched.

# member_of EMAIL: the IAM member of a Google account or service account.
member_of() {
  if [[ "$1" == *.gserviceaccount.com ]]; then
    printf 'serviceAccount:%s' "$1"
  else
    printf 'user:%s' "$1"
  fi
}

# resolve_owners: OWNER_EMAILS (comma-separated, lower case) and OWNER_MEMBERS: the account gcloud
# deploys as, then WORKER_OWNER_EMAILS. A service account deploying (CI) is an owner like a person.
resolve_owners() {
  local account="" email member
  local -a configured=() owners=()
  if gc_get account config get-value account; then
    account="${account,,}"
    if [[ -z "$account" ]]; then
      warn "gcloud has no account set: only WORKER_OWNER_EMAILS will be owners"
    elif ! is_email "$account"; then
      warn "gcloud's account ($account) is not an e-mail address: not made an owner"
      account=""
    fi
  else
    account=deploying-account@DEPLOYING_ACCOUNT # DRY_RUN: the command above is not run
  fi
  IFS=',' read -r -a configured <<<"${WORKER_OWNER_EMAILS:-}"
  for email in "$account" ${configured[@]+"${configured[@]}"}; do
    email="${email//[[:space:]]/}"
    email="${email,,}" # Google compares e-mails without case, and so does the worker
    [[ -n "$email" ]] || continue
    case "$email" in
    "$WORKER_SA" | "$SCOUT_SA" | "$SCHEDULER_SA" | "$BUILD_SA")
      die "$email is one of the deploy's own service accounts: it cannot also be an owner (WORKER_OWNER_EMAILS)"
      ;;
    esac
    in_list "$email" ${owners[@]+"${owners[@]}"} || owners+=("$email")
  done
  OWNER_MEMBERS=()
  for email in ${owners[@]+"${owners[@]}"}; do
    member="$(member_of "$email")"
    OWNER_MEMBERS+=("$member")
  done
  OWNER_EMAILS="$(
    IFS=','
    printf '%s' "${owners[*]-}"
  )"
  [[ -n "$OWNER_EMAILS" ]] || warn "no owners: nobody can add charging needs or see the status page (set WORKER_OWNER_EMAILS)"
}

in_list() {
  local needle="$1" item
  shift
  for item in "$@"; do
    [[ "$item" != "$needle" ]] || return 0
  done
  return 1
}

# plan_owner_grants: before the worker is (re)deployed, OWNER_GRANTS (the owner grants that are the
# deploy's: recorded in the service's annotation) and OWNER_GRANTS_TO_REMOVE (the deploy's grants
# of owners no longer listed). An owner who already had run.invoker from someone else is not recorded.
# shellcheck disable=SC2034  # OWNER_GRANTS is rendered into the worker service's annotation (worker.sh)
plan_owner_grants() {
  local member pairs=""
  local -a previous=() grants=()
  OWNER_GRANTS_TO_REMOVE=()
  IFS=',' read -r -a previous <<<"${PREVIOUS_OWNER_GRANTS:-}"
  if [[ "${WORKER_EXISTS:-0}" == 1 ]]; then
    policy_read pairs run "$WORKER_SERVICE_NAME" || true
  fi
  for member in ${OWNER_MEMBERS[@]+"${OWNER_MEMBERS[@]}"}; do
    if in_list "$member" ${previous[@]+"${previous[@]}"} || ! grep -Fxq "roles/run.invoker,$member," <<<"$pairs"; then
      grants+=("$member")
    else
      note "$member already may call $WORKER_SERVICE_NAME (a grant the deploy did not make, and never removes)"
    fi
  done
  for member in ${previous[@]+"${previous[@]}"}; do
    [[ -z "$member" ]] || in_list "$member" ${OWNER_MEMBERS[@]+"${OWNER_MEMBERS[@]}"} || OWNER_GRANTS_TO_REMOVE+=("$member")
  done
  OWNER_GRANTS="$(
    IFS=','
    printf '%s' "${grants[*]-}"
  )"
}

# iam_grant_owner_roles: run.invoker on the worker service for every owner (none on the project);
# the deploy's own grants of owners no longer listed are taken away.
iam_grant_owner_roles() {
  log "owners (their own Google identity, owner endpoints only)"
  local member
  for member in ${OWNER_MEMBERS[@]+"${OWNER_MEMBERS[@]}"}; do
    ensure_binding run "$WORKER_SERVICE_NAME" "$member" roles/run.invoker
  done
  for member in ${OWNER_GRANTS_TO_REMOVE[@]+"${OWNER_GRANTS_TO_REMOVE[@]}"}; do
    note "$member is no longer an owner: removing the run.invoker the deploy gave it"
    remove_binding run "$WORKER_SERVICE_NAME" "$member" roles/run.invoker
  done
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
  declare -A OPTIONAL_SECRET_STORED=()
  ! listed "$ALERT_WEBHOOK_SECRET_NAME" "$SECRET_NAMES" || OPTIONAL_SECRET_STORED[$ALERT_WEBHOOK_SECRET_NAME]=1
  ! listed "$ENTSOE_SECRET_NAME" "$SECRET_NAMES" || OPTIONAL_SECRET_STORED[$ENTSOE_SECRET_NAME]=1
  iam_grant_secret_roles
  iam_grant_repository_roles
  iam_grant_invoker_roles
fi
