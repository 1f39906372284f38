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
  logging.googleapis.com            # logs of both services
  run.googleapis.com                # the worker, and the function underneath
  secretmanager.googleapis.com      # client secret, token record
)

# enable_apis: one `services enable` for the APIs not enabled yet (none on a second run).
enable_apis() {
  log "APIs"
  local enabled="" api
  local -a missing=()
  gc_get enabled services list --enabled --format='value(config.name)' || true
  for api in "${REQUIRED_APIS[@]}"; do
    grep -Fxq "$api" <<<"$enabled" || missing+=("$api")
  done
  if ((${#missing[@]} == 0)); then
    note "all ${#REQUIRED_APIS[@]} APIs are enabled"
  else
    gc services enable "${missing[@]}"
  fi
}

# ensure_firestore: the (default) database in Native mode, created in FIRESTORE_LOCATION if missing.
ensure_firestore() {
  log "Firestore"
  local type=""
  if gc_get type firestore databases describe '--database=(default)' --format='value(type)'; then
    [[ "$type" != DATASTORE_MODE ]] ||
      die "this project's (default) database is in Datastore mode; the worker needs Firestore Native mode (use another project)"
    note "the (default) database exists ($type)"
  else
    gc firestore databases create '--database=(default)' "--location=$FIRESTORE_LOCATION" --type=firestore-native
  fi
}
