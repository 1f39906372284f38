# shellcheck shell=bash
# The worker: image built from a staged folder (worker_service/, shared/, requirements), tagged by
# its content so an unchanged tree is never rebuilt, then `gcloud run services replace` of the
# rendered cloud-run-service-worker.yaml. IAM (run.invoker) is added afterwards by iam.sh. Also
# the image repositories (with cleanup policies) and the build source bucket both builds use.

# Keep the two newest versions of each image and delete the others after a few days
# (each stored GB is billed; FACTS, Artifact Registry). Keep policies win over delete ones.
CLEANUP_POLICY_JSON='[
  {"name": "keep-two-newest", "action": {"type": "Keep"}, "mostRecentVersions": {"keepCount": 2}},
  {"name": "delete-older-than-3-days", "action": {"type": "Delete"}, "condition": {"tagState": "any", "olderThan": "3d"}}
]'

# ensure_repositories: the worker's repository and Cloud Functions' gcf-artifacts (made here when
# missing, so that the build account can be given access before the first function build), each
# with the cleanup policies (applied on every deploy: cheap, and repairs a hand edit).
ensure_repositories() {
  log "image repositories"
  local repositories="" name description
  gc_get repositories artifacts repositories list "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name.basename())' || true
  for name in "$ARTIFACT_REPOSITORY" "$FUNCTIONS_REPOSITORY"; do
    if listed "$name" "$repositories"; then
      note "Artifact Registry repository $name exists"
    else
      description='tesla-offpeak worker images'
      [[ "$name" != "$FUNCTIONS_REPOSITORY" ]] || description='Cloud Functions images (made by tesla-offpeak)'
      gc artifacts repositories create "$name" "--location=$GOOGLE_CLOUD_LOCATION" --repository-format=docker \
        "--description=$description" --labels=app=tesla-offpeak --format=none
    fi
  done
  printf '%s\n' "$CLEANUP_POLICY_JSON" >"$WORK_DIR/cleanup-policy.json"
  for name in "$ARTIFACT_REPOSITORY" "$FUNCTIONS_REPOSITORY"; do
    gc artifacts repositories set-cleanup-policies "$name" "--location=$GOOGLE_CLOUD_LOCATION" \
      "--policy=$WORK_DIR/cleanup-policy.json" --no-dry-run --format=none
  done
}

# ensure_source_bucket: the regional bucket builds read their source from; sources older than a
# week are deleted (a build reads its source within minutes).
ensure_source_bucket() {
  log "build source bucket"
  local buckets=""
  gc_get buckets storage buckets list --format='value(name)' || true
  if listed "$SOURCE_BUCKET" "$buckets"; then
    note "bucket gs://$SOURCE_BUCKET exists"
  else
    gc storage buckets create "gs://$SOURCE_BUCKET" "--location=$GOOGLE_CLOUD_LOCATION" --uniform-bucket-level-access \
      --format=none
    printf '%s\n' '{"rule": [{"action": {"type": "Delete"}, "condition": {"age": 7}}]}' >"$WORK_DIR/lifecycle.json"
    gc storage buckets update "gs://$SOURCE_BUCKET" "--lifecycle-file=$WORK_DIR/lifecycle.json" --format=none
  fi
}

# The worker service's annotation listing the owner grants (run.invoker bindings) this deploy made:
# only those are ever taken away again (deploy/iam.sh, iam_grant_owner_roles).
OWNER_GRANTS_ANNOTATION=tesla-offpeak/owner-grants

# worker_resolve_url: WORKER_URL, the base URL every caller uses as OIDC audience, and
# WORKER_EXISTS / PREVIOUS_OWNER_GRANTS from the deployed service. Before the first deploy the URL
# is the deterministic https://SERVICE-PROJECT_NUMBER.REGION.run.app, which Cloud Run shows first
# once the service exists.
# shellcheck disable=SC2034  # WORKER_EXISTS and PREVIOUS_OWNER_GRANTS are read by iam.sh
worker_resolve_url() {
  local row=""
  WORKER_EXISTS=0
  PREVIOUS_OWNER_GRANTS=""
  if gc_get row run services list "--region=$GOOGLE_CLOUD_LOCATION" "--filter=metadata.name=$WORKER_SERVICE_NAME" \
    --format="value(status.url,metadata.annotations.\"$OWNER_GRANTS_ANNOTATION\")" && [[ -n "$row" ]]; then
    WORKER_URL="$(cut -f1 <<<"$row")"
    PREVIOUS_OWNER_GRANTS="$(cut -f2 <<<"$row")"
    WORKER_EXISTS=1
    [[ -z "$WORKER_URL" ]] || return 0
  fi
  project_number
  WORKER_URL="https://${WORKER_SERVICE_NAME}-${PROJECT_NUMBER}.${GOOGLE_CLOUD_LOCATION}.run.app"
}

stage_worker() {
  local stage="$WORK_DIR/worker-source"
  [[ -f "$REPO_ROOT/worker_service/main.py" ]] || die "worker_service/main.py is missing: nothing to deploy"
  mkdir -p "$stage"
  copy_tree "$REPO_ROOT" "$stage" worker_service shared
  cp "$REPO_ROOT/requirements_cloud.txt" "$REPO_ROOT/Dockerfile" "$REPO_ROOT/.gcloudignore" "$stage/"
  WORKER_STAGE="$stage"
}

# build_worker_image: WORKER_IMAGE, tagged with the staged tree's hash; built only when missing,
# as the build account, with logs in Cloud Logging only (what a build under an account of its
# own requires).
build_worker_image() {
  local tag tags=""
  tag="$(tree_hash "$WORKER_STAGE")"
  local image_path="${GOOGLE_CLOUD_LOCATION}-docker.pkg.dev/${GOOGLE_CLOUD_PROJECT}/${ARTIFACT_REPOSITORY}/${WORKER_SERVICE_NAME}"
  WORKER_IMAGE="$image_path:$tag"
  if gc_get tags artifacts docker images list "$image_path" --include-tags --format='value(tags)' &&
    tr ',;' '\n' <<<"$tags" | grep -Fxq "$tag"; then
    note "image $WORKER_IMAGE exists: not rebuilt"
    return 0
  fi
  cat >"$WORK_DIR/cloudbuild.yaml" <<YAML
steps:
  - name: gcr.io/cloud-builders/docker
    args: ["build", "--tag=$WORKER_IMAGE", "."]
images: ["$WORKER_IMAGE"]
options:
  logging: CLOUD_LOGGING_ONLY
YAML
  gc builds submit "$WORKER_STAGE" "--config=$WORK_DIR/cloudbuild.yaml" "--region=$GOOGLE_CLOUD_LOCATION" \
    "--service-account=projects/$GOOGLE_CLOUD_PROJECT/serviceAccounts/$BUILD_SA" \
    "--gcs-source-staging-dir=gs://$SOURCE_BUCKET/worker" --format=none
}

# render_template SRC DEST: replace each ${NAME} with the shell variable NAME (empty when unset:
# the worker then uses the contract default). Secrets are refused: they come by secretKeyRef.
# Lines between `#@if FLAG` and `#@end` are kept only when the shell variable FLAG is 1 (a
# secretKeyRef to a secret that does not exist would stop the revision from starting).
render_template() {
  local src="$1" dest="$2" text="" name value line keep=1
  local -a names=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" =~ ^[[:space:]]*#@if[[:space:]]+([A-Z_][A-Z0-9_]*)[[:space:]]*$ ]]; then
      name="${BASH_REMATCH[1]}"
      keep=0
      [[ "${!name:-0}" != 1 ]] || keep=1
    elif [[ "$line" =~ ^[[:space:]]*#@end[[:space:]]*$ ]]; then
      keep=1
    elif ((keep)); then
      text+="$line"$'\n'
    fi
  done <"$src"
  mapfile -t names < <(grep -oE '\$\{[A-Z_][A-Z0-9_]*\}' <<<"$text" | LC_ALL=C sort -u | sed -e 's/^\${//' -e 's/}$//')
  for name in "${names[@]}"; do
    ! is_secret_setting "$name" || die "$src must not take $name as plain text: use secretKeyRef"
    value="${!name:-}"
    [[ "$value" != *$'\n'* ]] || die "$name must be one line"
    text="${text//"\${$name}"/"$(yaml_escape "$value")"}"
  done
  printf '%s' "$text" >"$dest"
}

# shellcheck disable=SC2034  # the template reads these through ${!name}
render_worker_yaml() {
  # Values the template takes besides the user's settings.
  WORKER_SERVICE_ACCOUNT="$WORKER_SA"
  WORKER_SERVICE_URL="$WORKER_URL"
  WORKER_ALLOWED_INVOKERS="$SCOUT_SA,$SCHEDULER_SA"
  # Each invoker pinned to its account's unique id: an account deleted and re-created under the
  # same e-mail (by anyone who may create accounts in the project) gets a new id and is refused.
  local scout_id scheduler_id
  sa_unique_id scout_id "$SCOUT_SA"
  sa_unique_id scheduler_id "$SCHEDULER_SA"
  WORKER_ALLOWED_INVOKER_IDS="$SCOUT_SA=$scout_id,$SCHEDULER_SA=$scheduler_id"
  # Only the scout reaches the token endpoints; the scheduler account only runs jobs.
  WORKER_SCOUT_INVOKERS="$SCOUT_SA"
  WORKER_OWNER_EMAILS="$OWNER_EMAILS"
  OWNER_GRANTS_VALUE="$OWNER_GRANTS"
  SCHEDULER_SERVICE_ACCOUNT="$SCHEDULER_SA"
  ALERT_WEBHOOK_STORED="${OPTIONAL_SECRET_STORED[$ALERT_WEBHOOK_SECRET_NAME]:-0}"
  ENTSOE_TOKEN_STORED="${OPTIONAL_SECRET_STORED[$ENTSOE_SECRET_NAME]:-0}"
  WORKER_YAML="$WORK_DIR/cloud-run-service-worker.rendered.yaml"
  render_template "$REPO_ROOT/cloud-run-service-worker.yaml" "$WORKER_YAML"
}

deploy_worker() {
  log "worker (Cloud Run service $WORKER_SERVICE_NAME)"
  worker_resolve_url
  plan_owner_grants
  stage_worker
  build_worker_image
  render_worker_yaml
  # Retried: the worker's access to the client secret, granted moments ago, may still be propagating.
  gc_retry run services replace "$WORKER_YAML" "--region=$GOOGLE_CLOUD_LOCATION" --format=none
  is_dry_run && return 0
  local actual=""
  gc_get actual run services describe "$WORKER_SERVICE_NAME" "--region=$GOOGLE_CLOUD_LOCATION" --format='value(status.url)'
  [[ -n "$actual" ]] || die "the worker service has no URL after deploying it"
  if [[ -n "$actual" && "$actual" != "$WORKER_URL" ]]; then
    # No deterministic URL (a long name): audiences must match what Cloud Run answers to.
    warn "the worker answers at $actual, not $WORKER_URL: deploying again with that URL"
    WORKER_URL="$actual"
    render_worker_yaml
    gc run services replace "$WORKER_YAML" "--region=$GOOGLE_CLOUD_LOCATION" --format=none
  fi
}
