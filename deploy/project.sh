# shellcheck shell=bash
# Project-wide prerequisites: the APIs and the Firestore (default) database.

REQUIRED_APIS=(
  artifactregistry.googleapis.com   # the worker's image
  cloudbuild.googleapis.com         # builds the image and the function
  cloudfunctions.googleapis.com     # the scout
  cloudresourcemanager.googleapis.com # project IAM policy
  cloudscheduler.googleapis.com     # static and one-shot jobs
  firestore.googleapis.com          # documents
  iam.googleapis.com                # service accounts, custom role
  iamcredentials.googleapis.com     # the smoke check's ID tokens as the scheduler account
  logging.googleapis.com            # logs of both services; the smoke check reads job attempts
  run.googleapis.com                # the worker, and the function underneath
  secretmanager.googleapis.com      # client secret, token record, command-signing key
  storage.googleapis.com            # the build source bucket
)

# api_enabled SERVICE: SERVICE is in ENABLED_APIS (read by read_enabled_apis).
api_enabled() { grep -Fxq "$1" <<<"${ENABLED_APIS:-}"; }

read_enabled_apis() {
  gc_get ENABLED_APIS services list --enabled --format='value(config.name)' || ENABLED_APIS=""
}

# enable_apis: one `services enable` for the APIs not enabled yet (none on a second run).
enable_apis() {
  log "APIs"
  local api
  local -a missing=() apis=("${REQUIRED_APIS[@]}")
  # Cloud Monitoring only for the alert e-mail (deploy/alerts.sh); new projects have it on anyway.
  [[ -z "${ALERT_EMAIL:-}" ]] || apis+=(monitoring.googleapis.com)
  read_enabled_apis
  for api in "${apis[@]}"; do
    api_enabled "$api" || missing+=("$api")
  done
  if ((${#missing[@]} == 0)); then
    note "all ${#apis[@]} APIs are enabled"
  else
    gc services enable "${missing[@]}"
  fi
}

# ensure_firestore: the (default) database in Native mode, created in FIRESTORE_LOCATION if missing.
ensure_firestore() {
  log "Firestore"
  local databases="" type=""
  gc_get databases firestore databases list --format='value(name.basename(),type)' || true
  if listed '(default)' "$databases"; then
    type="$(row_of '(default)' "$databases" | cut -f2)"
    [[ "$type" != DATASTORE_MODE ]] ||
      die "this project's (default) database is in Datastore mode; the worker needs Firestore Native mode (use another project)"
    note "the (default) database exists ($type)"
  else
    gc firestore databases create '--database=(default)' "--location=$FIRESTORE_LOCATION" --type=firestore-native
  fi
}
