# shellcheck shell=bash
# shellcheck disable=SC2034  # names and settings defined here are used by the scripts sourcing this file
# Helpers shared by the deploy scripts: settings, the gcloud wrappers (DRY_RUN), idempotent IAM steps.
#
# Sourced, never run. Secret values live in unexported shell variables and reach gcloud on stdin
# only: never on a command line (visible in `ps`, shell history, CI logs), never in the environment
# of a child process, never printed.

set +x # a traced line would show secret values: these scripts are never traced

if ((BASH_VERSINFO[0] < 4)); then
  printf 'ERROR: bash 4 or newer is needed (this is %s); on macOS: brew install bash\n' "$BASH_VERSION" >&2
  exit 1
fi

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$DEPLOY_DIR/.." && pwd)"

# The static Cloud Scheduler jobs, and the one an older version created (deleted on sight).
SCOUT_JOB=tesla-scout-every-15-min
DAILY_CHECK_JOB=tesla-daily-special-charging-check
FAILSAFE_JOB=tesla-run-cycle-failsafe
DEPRECATED_JOB=tesla-special-charging-cleanup
# Dynamic one-shot jobs the worker creates at run time (contract section 6).
DYNAMIC_JOB_PREFIX=special-

# ---------------------------------------------------------------------------------------------
# Messages

log() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

is_dry_run() {
  case "${DRY_RUN:-0}" in
  1 | true | TRUE | yes) return 0 ;;
  *) return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Settings: deploy/config.env (or DEPLOY_CONFIG), the environment winning over the file.

# load_config: KEY=VALUE lines (optionally quoted, `#` comments); never executed as shell code.
load_config() {
  local file="${DEPLOY_CONFIG:-$DEPLOY_DIR/config.env}"
  if [[ ! -f "$file" ]]; then
    [[ -z "${DEPLOY_CONFIG:-}" ]] || die "DEPLOY_CONFIG names a file that does not exist: $file"
    log "no $file: reading the settings from the environment only"
  else
    warn_if_readable_by_others "$file"
    local known line key value n=0
    known="$(known_settings)"
    while IFS= read -r line || [[ -n "$line" ]]; do
      n=$((n + 1))
      line="${line#"${line%%[![:space:]]*}"}"
      [[ -z "$line" || "$line" == \#* ]] && continue
      line="${line#export }"
      [[ "$line" == *=* ]] || die "$file line $n: expected KEY=VALUE"
      key="${line%%=*}"
      value="${line#*=}"
      [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "$file line $n: '$key' is not a variable name"
      if ! grep -Fxq "$key" <<<"$known"; then
        warn "$file line $n: $key is not a setting the deploy knows (a typo?): ignored"
        continue
      fi
      if [[ "$value" =~ ^\"(.*)\"[[:space:]]*(#.*)?$ ]] || [[ "$value" =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
        value="${BASH_REMATCH[1]}"
      else
        value="${value%%[[:space:]]#*}"
        value="${value%"${value##*[![:space:]]}"}"
      fi
      # A non-empty environment variable wins: `GOOGLE_CLOUD_PROJECT=other ./deploy_scout_worker.sh`.
      if [[ -z "${!key:-}" ]]; then
        printf -v "$key" '%s' "$value"
      elif [[ -n "$value" && "${!key}" != "$value" ]]; then
        overridden_by_environment "$key"
      fi
    done <"$file"
  fi
  # Secrets stay in this shell: gcloud and every other child process start without them.
  export -n "${SECRET_SETTINGS[@]}" 2>/dev/null || true
  apply_defaults
}

overridden_by_environment() {
  if is_secret_setting "$1"; then
    warn "$1 from the environment wins over the one in the config file"
  else
    warn "$1=${!1} from the environment wins over the config file (Cloud Shell sets GOOGLE_CLOUD_PROJECT)"
  fi
}

# Settings whose values are never printed, never on a command line and never in a child's environment.
# ALERT_WEBHOOK_URL is one: a webhook URL often embeds its secret (ntfy topic, bot token, hook id).
SECRET_SETTINGS=(TESLA_CLIENT_SECRET TESLA_REFRESH_TOKEN WORKER_API_TOKEN ENTSOE_API_TOKEN ALERT_WEBHOOK_URL)

is_secret_setting() {
  local name
  for name in "${SECRET_SETTINGS[@]}"; do
    [[ "$1" != "$name" ]] || return 0
  done
  return 1
}

# known_settings: every KEY of config.env.example (set or commented out), one a line.
known_settings() {
  sed -n -E 's/^#?([A-Z_][A-Z0-9_]*)=.*/\1/p' "$DEPLOY_DIR/config.env.example"
  printf '%s\n' DRY_RUN VERBOSE KEEP_WORK_DIR KEEP_TOKENS TEARDOWN_FIRESTORE TESLA_REAUTHORISE \
    SMOKE_AS_SCHEDULER SMOKE_RUN_JOBS SMOKE_WAIT_SECONDS SMOKE_POLL_SECONDS RETRY_SLEEP_SECONDS \
    WORKER_API_TOKEN
}

warn_if_readable_by_others() {
  local mode
  mode="$(ls -l "$1")"
  if [[ "${mode:4:6}" != "------" ]]; then
    warn "$1 holds secrets but other users may read it: chmod 600 '$1'"
  fi
}

apply_defaults() {
  : "${GOOGLE_CLOUD_LOCATION:=europe-west1}"
  : "${FIRESTORE_LOCATION:=$GOOGLE_CLOUD_LOCATION}"
  : "${TIMEZONE:=Europe/Warsaw}"
  : "${WORKER_SERVICE_NAME:=tesla-worker}"
  : "${SCOUT_FUNCTION_NAME:=tesla-scout}"
  : "${WORKER_SA_NAME:=tesla-worker}"
  : "${SCOUT_SA_NAME:=tesla-scout}"
  : "${SCHEDULER_SA_NAME:=tesla-scheduler}"
  : "${BUILD_SA_NAME:=tesla-build}"
  : "${TOKENS_SECRET_NAME:=fleet-tokens}"
  : "${CLIENT_SECRET_NAME:=tesla-client-secret}"
  : "${ARTIFACT_REPOSITORY:=tesla-offpeak}"
  : "${FUNCTIONS_REPOSITORY:=gcf-artifacts}"
  : "${SOURCE_BUCKET:=${GOOGLE_CLOUD_PROJECT:-}-tesla-offpeak-source}"
  : "${TESLA_COMMAND_KEY_SECRET:=tesla-command-key}"
  : "${ALERT_WEBHOOK_SECRET_NAME:=tesla-alert-webhook}"
  : "${ENTSOE_SECRET_NAME:=tesla-entsoe-token}"
  : "${JOB_ROLE_ID:=teslaOffpeakJobManager}"
  : "${FUNCTION_RUNTIME:=python312}"
  : "${RETRY_SLEEP_SECONDS:=10}"
  # Timeouts that must agree (deploy/scheduler.sh): each job's deadline outlasts its target's timeout.
  WORKER_TIMEOUT_SECONDS=300
  SCOUT_TIMEOUT_SECONDS=300
  JOB_ATTEMPT_DEADLINE_SECONDS=320
}

# require NAME...: stop at the first missing setting, naming it (never a value).
require() {
  local name
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || die "$name is required: set it in deploy/config.env (see deploy/config.env.example) or the environment"
  done
}

# validate_deploy_settings: what the deploy needs, checked before any gcloud call.
validate_deploy_settings() {
  require GOOGLE_CLOUD_PROJECT TESLA_CLIENT_ID TESLA_CLIENT_SECRET TESLA_VIN HOME_LATITUDE HOME_LONGITUDE
  [[ "$GOOGLE_CLOUD_PROJECT" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "GOOGLE_CLOUD_PROJECT must be a project ID (not its name or number)"
  [[ "$GOOGLE_CLOUD_LOCATION" =~ ^[a-z]+-[a-z]+[0-9]+$ ]] || die "GOOGLE_CLOUD_LOCATION must be a region such as europe-west1"
  local vin
  local -a vins
  IFS=',' read -r -a vins <<<"$TESLA_VIN"
  for vin in "${vins[@]}"; do
    vin="${vin//[[:space:]]/}"
    [[ "${vin^^}" =~ ^[A-HJ-NPR-Z0-9]{17}$ ]] || die "TESLA_VIN must be 17-character VINs, comma-separated"
  done
  [[ "$HOME_LATITUDE" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "HOME_LATITUDE must be a decimal number"
  [[ "$HOME_LONGITUDE" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "HOME_LONGITUDE must be a decimal number"
  [[ "$FUNCTION_RUNTIME" =~ ^python3(1[2-9]|[2-9][0-9])$ ]] || die "FUNCTION_RUNTIME must be python312 or newer"
  check_no_newlines TESLA_CLIENT_ID TESLA_VIN HOME_LATITUDE HOME_LONGITUDE TIMEZONE ALERT_WEBHOOK_URL ENTSOE_API_TOKEN
  # Checked here as the worker checks them at start (shared/settings.py): a worker that refuses to
  # start is found only after the deploy, by a failing smoke check.
  [[ -z "${ALERT_EMAIL:-}" ]] || is_email "$ALERT_EMAIL" || die "ALERT_EMAIL must be one e-mail address"
  [[ -z "${ALERT_WEBHOOK_URL:-}" || "$ALERT_WEBHOOK_URL" =~ ^https?://[^[:space:]/]+[^[:space:]]*$ ]] ||
    die "ALERT_WEBHOOK_URL must be an http(s) URL"
  local email
  local -a emails
  IFS=',' read -r -a emails <<<"${WORKER_OWNER_EMAILS:-}"
  for email in ${emails[@]+"${emails[@]}"}; do
    email="${email//[[:space:]]/}"
    [[ -z "$email" ]] || is_email "$email" || die "WORKER_OWNER_EMAILS must be comma-separated e-mail addresses"
  done
  local signing="${TESLA_COMMAND_SIGNING:-auto}"
  case "${signing,,}" in # the worker reads it without case
  auto | always | never) ;;
  *) die "TESLA_COMMAND_SIGNING must be auto, always or never" ;;
  esac
}

is_email() { [[ "$1" =~ ^[^@[:space:],]+@[^@[:space:],]+\.[^@[:space:],]+$ ]]; }

check_no_newlines() {
  local name
  for name in "$@"; do
    [[ "${!name:-}" != *$'\n'* ]] || die "$name must be one line"
  done
}

sa_email() { printf '%s@%s.iam.gserviceaccount.com' "$1" "$GOOGLE_CLOUD_PROJECT"; }

set_account_emails() {
  WORKER_SA="$(sa_email "$WORKER_SA_NAME")"
  SCOUT_SA="$(sa_email "$SCOUT_SA_NAME")"
  SCHEDULER_SA="$(sa_email "$SCHEDULER_SA_NAME")"
  BUILD_SA="$(sa_email "$BUILD_SA_NAME")"
}

# ---------------------------------------------------------------------------------------------
# Scratch space: staged sources, rendered files. Kept after DRY_RUN so they can be read.

make_work_dir() {
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tesla-offpeak-deploy.XXXXXX")"
  GCLOUD_ERR="$WORK_DIR/gcloud.stderr"
  if is_dry_run || [[ "${KEEP_WORK_DIR:-0}" == 1 ]]; then
    trap 'log "staged and rendered files kept in $WORK_DIR"' EXIT
  else
    trap 'rm -rf "$WORK_DIR"' EXIT
  fi
}

# ---------------------------------------------------------------------------------------------
# gcloud, always with --project; every command that changes something is shown first.

# show_cmd ARGS...: "+ gcloud ARGS" on stderr, quoted so it can be pasted into a shell.
show_cmd() {
  local line="+ gcloud" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
      line+=" $arg"
    else
      line+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s\n' "$line" >&2
}

# gc ARGS...: a command that creates, changes or deletes; with DRY_RUN=1 only shown.
gc() {
  local -a cmd=("$@" "--project=$GOOGLE_CLOUD_PROJECT" --quiet)
  show_cmd "${cmd[@]}"
  is_dry_run && return 0
  gcloud "${cmd[@]}"
}

# gc_out VAR ARGS...: gc, with the command's output kept in VAR (empty under DRY_RUN).
gc_out() {
  local __out_var="$1" __out=""
  shift
  local -a cmd=("$@" "--project=$GOOGLE_CLOUD_PROJECT" --quiet)
  printf -v "$__out_var" '%s' ""
  show_cmd "${cmd[@]}"
  is_dry_run && return 0
  __out="$(gcloud "${cmd[@]}")" || return $?
  printf -v "$__out_var" '%s' "$__out"
}

# gc_retry ARGS...: gc, retried a few times: IAM needs a moment to see a service account just created.
gc_retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if gc "$@"; then
      return 0
    fi
    ((attempt < 5)) || break
    note "retrying in ${RETRY_SLEEP_SECONDS}s (new accounts take a moment to propagate)"
    sleep "$RETRY_SLEEP_SECONDS"
  done
  die "gcloud $1 $2 $3 kept failing"
}

# gc_get VAR ARGS...: a read, its output stored in VAR; stops the deploy when it fails. Under
# DRY_RUN nothing runs and it returns 1. Whether something exists is never guessed from an error
# text (each gcloud command words "not found" its own way): read a list and look for the name.
gc_get() {
  local __gc_var="$1"
  shift
  local -a __gc_cmd=("$@" "--project=$GOOGLE_CLOUD_PROJECT")
  local __gc_out __gc_rc=0
  printf -v "$__gc_var" '%s' ""
  if is_dry_run; then
    show_cmd "${__gc_cmd[@]}"
    return 1
  fi
  [[ "${VERBOSE:-0}" != 1 ]] || show_cmd "${__gc_cmd[@]}"
  __gc_out="$(gcloud "${__gc_cmd[@]}" 2>"$GCLOUD_ERR")" || __gc_rc=$?
  if ((__gc_rc == 0)); then
    printf -v "$__gc_var" '%s' "$__gc_out"
    return 0
  fi
  cat "$GCLOUD_ERR" >&2
  die "gcloud $1 $2 $3 failed (exit $__gc_rc)"
}

# listed NAME LIST: NAME is one of the lines of LIST (first tab-separated column).
listed() {
  cut -f1 <<<"$2" | grep -Fxq -- "$1"
}

# row_of NAME LIST: the line of LIST whose first column is NAME (empty when none).
row_of() {
  awk -F'\t' -v name="$1" '$1 == name { print; exit }' <<<"$2"
}

# gc_stdin_secret VAR WHAT ARGS...: a command that reads the value of VAR on stdin (--data-file=-).
# The value is piped by the printf builtin, so it appears in no argv; only WHAT is shown.
gc_stdin_secret() {
  local __secret_var="$1" what="$2"
  shift 2
  local -a cmd=("$@" "--project=$GOOGLE_CLOUD_PROJECT" --quiet)
  printf '%s\n' "$(show_cmd "${cmd[@]}" 2>&1) < [$what, on stdin]" >&2
  is_dry_run && return 0
  printf '%s' "${!__secret_var}" | gcloud "${cmd[@]}"
}

# ---------------------------------------------------------------------------------------------
# IAM bindings, each checked before it is added, so a second run adds nothing.

# policy_read VAR KIND RESOURCE: the policy as "role,member,condition title" lines, read once per
# run (the grants below keep the copy current).
declare -A POLICY_CACHE=()
policy_read() {
  local __var="$1" kind="$2" resource="$3" __pairs=""
  if [[ -n "${POLICY_CACHE["$kind/$resource"]+set}" ]]; then
    printf -v "$__var" '%s' "${POLICY_CACHE["$kind/$resource"]}"
    return 0
  fi
  local -a flat=(--flatten='bindings[].members' --format='csv[no-heading](bindings.role,bindings.members,bindings.condition.title)')
  case "$kind" in
  project) gc_get __pairs projects get-iam-policy "$resource" "${flat[@]}" ;;
  secret) gc_get __pairs secrets get-iam-policy "$resource" "${flat[@]}" ;;
  serviceaccount) gc_get __pairs iam service-accounts get-iam-policy "$resource" "${flat[@]}" ;;
  run) gc_get __pairs run services get-iam-policy "$resource" "--region=$GOOGLE_CLOUD_LOCATION" "${flat[@]}" ;;
  repository) gc_get __pairs artifacts repositories get-iam-policy "$resource" "--location=$GOOGLE_CLOUD_LOCATION" "${flat[@]}" ;;
  *) die "unknown policy kind $kind" ;;
  esac || return 1
  POLICY_CACHE["$kind/$resource"]="$__pairs"
  printf -v "$__var" '%s' "$__pairs"
}

policy_cmd() {
  local verb="$1" kind="$2" resource="$3"
  case "$kind" in
  project) POLICY_CMD=(projects "$verb" "$resource" --condition=None) ;;
  secret) POLICY_CMD=(secrets "$verb" "$resource") ;;
  serviceaccount) POLICY_CMD=(iam service-accounts "$verb" "$resource") ;;
  run) POLICY_CMD=(run services "$verb" "$resource" "--region=$GOOGLE_CLOUD_LOCATION") ;;
  repository) POLICY_CMD=(artifacts repositories "$verb" "$resource" "--location=$GOOGLE_CLOUD_LOCATION") ;;
  *) die "unknown policy kind $kind" ;;
  esac
}

# ensure_binding KIND RESOURCE MEMBER ROLE [TITLE EXPRESSION]: grant ROLE to MEMBER on one resource,
# once; with TITLE and EXPRESSION the grant holds only under that IAM condition.
ensure_binding() {
  local kind="$1" resource="$2" member="$3" role="$4" title="${5:-}" expression="${6:-}" pairs=""
  policy_read pairs "$kind" "$resource" || true
  if grep -Fxq "$role,$member,$title" <<<"$pairs"; then
    note "$member already has $role on $kind $resource${title:+ (if: $title)}"
    return 0
  fi
  policy_cmd add-iam-policy-binding "$kind" "$resource"
  if [[ -n "$title" ]]; then
    [[ "$kind" == project ]] || die "conditional grants are made on the project only"
    POLICY_CMD=(projects add-iam-policy-binding "$resource" "--condition=expression=$expression,title=$title")
  fi
  gc_retry "${POLICY_CMD[@]}" "--member=$member" "--role=$role" --format=none
  POLICY_CACHE["$kind/$resource"]+=$'\n'"$role,$member,$title"
}

# remove_binding KIND RESOURCE MEMBER ROLE: take ROLE away from MEMBER if it has it (with any condition).
remove_binding() {
  local kind="$1" resource="$2" member="$3" role="$4" pairs=""
  if policy_read pairs "$kind" "$resource"; then
    grep -q "^$role,$member," <<<"$pairs" || return 0
  else
    is_dry_run || return 0
  fi
  policy_cmd remove-iam-policy-binding "$kind" "$resource"
  if [[ "$kind" == project ]] && grep -q "^$role,$member,." <<<"$pairs"; then
    POLICY_CMD=(projects remove-iam-policy-binding "$resource" --all) # every condition it is granted under
  fi
  gc "${POLICY_CMD[@]}" "--member=$member" "--role=$role" --format=none
  POLICY_CACHE["$kind/$resource"]="$(grep -v "^$role,$member," <<<"$pairs" || true)"
}

# ensure_not_public SERVICE: no allUsers / allAuthenticatedUsers binding on a Cloud Run service.
ensure_not_public() {
  local service="$1" pairs="" pair role member
  policy_read pairs run "$service" || return 0
  while IFS= read -r pair; do
    [[ -n "$pair" ]] || continue
    role="${pair%%,*}"
    member="${pair#*,}"
    member="${member%%,*}"
    if [[ "$member" == allUsers || "$member" == allAuthenticatedUsers ]]; then
      warn "$service was public ($member has $role): removing that binding"
      policy_cmd remove-iam-policy-binding run "$service"
      gc "${POLICY_CMD[@]}" "--member=$member" "--role=$role" --format=none
    fi
  done <<<"$pairs"
}

# ---------------------------------------------------------------------------------------------
# Staging and hashing

# copy_tree SRC_PARENT DEST NAME...: copy folders without caches.
copy_tree() {
  local parent="$1" dest="$2"
  shift 2
  tar -C "$parent" --exclude='__pycache__' --exclude='*.pyc' --exclude='.mypy_cache' -cf - "$@" | tar -C "$dest" -xf -
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d' ' -f1
  else
    shasum -a 256 | cut -d' ' -f1
  fi
}

# tree_hash DIR: a short content hash of every file (names and bytes), the same on every machine.
tree_hash() {
  local dir="$1" file
  (
    cd "$dir" || exit 1
    find . -type f -print | LC_ALL=C sort | while IFS= read -r file; do
      printf '%s %s\n' "$file" "$(sha256_of <"$file")"
    done
  ) | sha256_of | cut -c1-16
}

# yaml_escape VALUE: the inside of a double-quoted YAML string.
yaml_escape() {
  local value="$1"
  value="${value//\\/\\\\}"
  value="${value//\"/\\\"}"
  printf '%s' "$value"
}

# read_secret_names: SECRET_NAMES, the project's secrets (short names), one a line.
read_secret_names() {
  gc_get SECRET_NAMES secrets list --format='value(name.basename())' || SECRET_NAMES=""
}

# project_number: PROJECT_NUMBER, read once (a placeholder under DRY_RUN).
project_number() {
  [[ -z "${PROJECT_NUMBER:-}" ]] || return 0
  if gc_get PROJECT_NUMBER projects describe "$GOOGLE_CLOUD_PROJECT" --format='value(projectNumber)'; then
    [[ "$PROJECT_NUMBER" =~ ^[0-9]+$ ]] || die "could not read the number of project $GOOGLE_CLOUD_PROJECT"
    return 0
  fi
  is_dry_run || die "project $GOOGLE_CLOUD_PROJECT was not found, or this account cannot see it"
  PROJECT_NUMBER=PROJECT_NUMBER
}
