# shellcheck shell=bash
# The worker: image built from a staged folder (worker_service/, shared/, requirements), tagged by
# its content so an unchanged tree is never rebuilt, then `gcloud run services replace` of the
# rendered cloud-run-service-worker.yaml. IAM (run.invoker) is added afterwards by iam.sh.

SECRET_VARIABLES=(TESLA_CLIENT_SECRET TESLA_REFRESH_TOKEN WORKER_API_TOKEN ENTSOE_API_TOKEN)

ensure_artifact_repository() {
  if gc_get _ artifacts repositories describe "$ARTIFACT_REPOSITORY" "--location=$GOOGLE_CLOUD_LOCATION" --format='value(name)'; then
    note "Artifact Registry repository $ARTIFACT_REPOSITORY exists"
  else
    gc artifacts repositories create "$ARTIFACT_REPOSITORY" "--location=$GOOGLE_CLOUD_LOCATION" \
      --repository-format=docker --description='tesla-offpeak worker images' --labels=app=tesla-offpeak
  fi
}

# worker_resolve_url: WORKER_URL, the base URL every caller uses as OIDC audience. Before the
# first deploy it is the deterministic https://SERVICE-PROJECT_NUMBER.REGION.run.app, which Cloud
# Run shows first once the service exists.
worker_resolve_url() {
  if gc_get WORKER_URL run services describe "$WORKER_SERVICE_NAME" "--region=$GOOGLE_CLOUD_LOCATION" \
    --format='value(status.url)' && [[ -n "$WORKER_URL" ]]; then
    return 0
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

# build_worker_image: WORKER_IMAGE, tagged with the staged tree's hash; built only when missing.
build_worker_image() {
  local tag
  tag="$(tree_hash "$WORKER_STAGE")"
  WORKER_IMAGE="${GOOGLE_CLOUD_LOCATION}-docker.pkg.dev/${GOOGLE_CLOUD_PROJECT}/${ARTIFACT_REPOSITORY}/${WORKER_SERVICE_NAME}:${tag}"
  # Registry errors for a missing tag vary (NOT_FOUND, MANIFEST_UNKNOWN): any failure means "build".
  if gc_probe artifacts docker images describe "$WORKER_IMAGE" --format='value(image_summary.digest)'; then
    note "image $WORKER_IMAGE exists: not rebuilt"
  else
    gc builds submit "$WORKER_STAGE" "--tag=$WORKER_IMAGE"
  fi
}

# render_template SRC DEST: replace each ${NAME} with the shell variable NAME (empty when unset:
# the worker then uses the contract default). Secrets are refused: they come by secretKeyRef.
render_template() {
  local src="$1" dest="$2" text name value secret
  local -a names=()
  text="$(<"$src")"
  mapfile -t names < <(grep -oE '\$\{[A-Z_][A-Z0-9_]*\}' "$src" | LC_ALL=C sort -u | sed -e 's/^\${//' -e 's/}$//')
  for name in "${names[@]}"; do
    for secret in "${SECRET_VARIABLES[@]}"; do
      [[ "$name" != "$secret" ]] || die "$src must not take $name as plain text: use secretKeyRef"
    done
    value="${!name:-}"
    [[ "$value" != *$'\n'* ]] || die "$name must be one line"
    text="${text//"\${$name}"/"$(yaml_escape "$value")"}"
  done
  printf '%s\n' "$text" >"$dest"
}

# shellcheck disable=SC2034  # the template reads these through ${!name}
render_worker_yaml() {
  # Values the template takes besides the user's settings.
  WORKER_SERVICE_ACCOUNT="$WORKER_SA"
  WORKER_SERVICE_URL="$WORKER_URL"
  WORKER_ALLOWED_INVOKERS="$SCOUT_SA,$SCHEDULER_SA"
  SCHEDULER_SERVICE_ACCOUNT="$SCHEDULER_SA"
  WORKER_YAML="$WORK_DIR/cloud-run-service-worker.rendered.yaml"
  render_template "$REPO_ROOT/cloud-run-service-worker.yaml" "$WORKER_YAML"
}

deploy_worker() {
  log "worker (Cloud Run service $WORKER_SERVICE_NAME)"
  ensure_artifact_repository
  worker_resolve_url
  stage_worker
  build_worker_image
  render_worker_yaml
  # Retried: the worker's access to the client secret, granted moments ago, may still be propagating.
  gc_retry run services replace "$WORKER_YAML" "--region=$GOOGLE_CLOUD_LOCATION"
  is_dry_run && return 0
  local actual=""
  gc_get actual run services describe "$WORKER_SERVICE_NAME" "--region=$GOOGLE_CLOUD_LOCATION" --format='value(status.url)' ||
    die "the worker service is not there after deploying it"
  if [[ -n "$actual" && "$actual" != "$WORKER_URL" ]]; then
    # No deterministic URL (a long name): audiences must match what Cloud Run answers to.
    warn "the worker answers at $actual, not $WORKER_URL: deploying again with that URL"
    WORKER_URL="$actual"
    render_worker_yaml
    gc run services replace "$WORKER_YAML" "--region=$GOOGLE_CLOUD_LOCATION"
  fi
}
