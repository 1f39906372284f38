# shellcheck shell=bash
# The scout: a 2nd-gen HTTP function deployed from a staged folder holding scout_function/*, the
# project's shared/ package beside main.py and requirements.txt (= requirements_cloud.txt), as
# Google's dependency docs ask for local packages. Not public: only the scheduler SA may call it.

# What the scout reads (contract section 4); unset ones are left out so the defaults apply.
SCOUT_ENV_VARIABLES=(
  GOOGLE_CLOUD_PROJECT GOOGLE_CLOUD_LOCATION BACKEND WORKER_SERVICE_URL WORKER_AUTH_MODE
  TESLA_API_BASE_URL TESLA_VIN TOKENS_SECRET_NAME HOME_LATITUDE HOME_LONGITUDE HOME_RADIUS
  HOME_RADIUS_METERS TIMEZONE
)

stage_scout() {
  local stage="$WORK_DIR/scout-source"
  [[ -f "$REPO_ROOT/scout_function/main.py" ]] || die "scout_function/main.py is missing: nothing to deploy"
  mkdir -p "$stage"
  copy_tree "$REPO_ROOT/scout_function" "$stage" .
  copy_tree "$REPO_ROOT" "$stage" shared
  cp "$REPO_ROOT/requirements_cloud.txt" "$stage/requirements.txt"
  cp "$REPO_ROOT/.gcloudignore" "$stage/"
  SCOUT_STAGE="$stage"
}

# write_scout_env FILE: the --env-vars-file (YAML); one quoted string per variable.
# shellcheck disable=SC2034  # read through ${!name}
write_scout_env() {
  local file="$1" name
  BACKEND=gcp
  WORKER_AUTH_MODE=google-oidc
  WORKER_SERVICE_URL="$WORKER_URL"
  : >"$file"
  for name in "${SCOUT_ENV_VARIABLES[@]}"; do
    [[ -n "${!name:-}" ]] || continue
    [[ "${!name}" != *$'\n'* ]] || die "$name must be one line"
    printf '%s: "%s"\n' "$name" "$(yaml_escape "${!name}")" >>"$file"
  done
}

deploy_scout() {
  log "scout (Cloud Functions 2nd gen $SCOUT_FUNCTION_NAME)"
  stage_scout
  local env_file="$WORK_DIR/scout-env.yaml" deployed="" hash
  write_scout_env "$env_file"
  local -a flags=(
    --gen2 "--region=$GOOGLE_CLOUD_LOCATION" "--runtime=$FUNCTION_RUNTIME" "--source=$SCOUT_STAGE"
    --entry-point=tesla_scout_main --trigger-http --no-allow-unauthenticated
    "--service-account=$SCOUT_SA" --memory=256Mi "--timeout=${SCOUT_TIMEOUT_SECONDS}s" --max-instances=1 --min-instances=0
    "--env-vars-file=$env_file" "--build-service-account=projects/$GOOGLE_CLOUD_PROJECT/serviceAccounts/$BUILD_SA"
  )
  # The label records what was deployed: same code, settings and flags → no new build or revision.
  # (Scratch paths differ on every run and are left out.)
  hash="$({ tree_hash "$SCOUT_STAGE"; cat "$env_file"; printf '%s\n' "${flags[@]//"$WORK_DIR"/}"; } | sha256_of | cut -c1-16)"
  read_scout_function
  deployed="$(row_of "$SCOUT_FUNCTION_NAME" "$SCOUT_FUNCTION" | cut -f2)"
  if [[ "$(row_of "$SCOUT_FUNCTION_NAME" "$SCOUT_FUNCTION" | cut -f4)" == ACTIVE && "$deployed" == "$hash" ]]; then
    note "function $SCOUT_FUNCTION_NAME is up to date"
    return 0
  fi
  gc functions deploy "$SCOUT_FUNCTION_NAME" "${flags[@]}" "--update-labels=app=tesla-offpeak,deploy_hash=$hash" --format=none
  SCOUT_FUNCTION=""
}

# read_scout_function: SCOUT_FUNCTION, "name<TAB>deploy_hash<TAB>uri<TAB>state" of the scout, or empty.
read_scout_function() {
  local functions=""
  gc_get functions functions list "--regions=$GOOGLE_CLOUD_LOCATION" \
    --format='value(name.basename(),labels.deploy_hash,serviceConfig.uri,state)' || true
  SCOUT_FUNCTION="$(row_of "$SCOUT_FUNCTION_NAME" "$functions")"
}

# scout_resolve_url: SCOUT_URL, target and OIDC audience of the every-15-minutes job.
scout_resolve_url() {
  [[ -n "${SCOUT_FUNCTION:-}" ]] || read_scout_function
  SCOUT_URL="$(cut -f3 <<<"$SCOUT_FUNCTION")"
  [[ -z "$SCOUT_URL" ]] || return 0
  is_dry_run || die "function $SCOUT_FUNCTION_NAME has no URL"
  SCOUT_URL="https://${SCOUT_FUNCTION_NAME}-SCOUT_URL_HASH.${GOOGLE_CLOUD_LOCATION}.run.app"
}
