# shellcheck shell=bash
# The two secrets: the Tesla client secret (read by the worker through secretKeyRef) and the token
# record (contract: TOKENS_SECRET_NAME), which the deploy seeds once from TESLA_REFRESH_TOKEN.
#
# Values go to gcloud on stdin (`--data-file=-`), never on a command line. A new version is added
# only when the value changed: every enabled version is billed (FACTS, Secret Manager).

ensure_secret() {
  local name="$1"
  if gc_get _ secrets describe "$name" --format='value(name)'; then
    note "secret $name exists"
  else
    gc secrets create "$name" --labels=app=tesla-offpeak
  fi
}

# store_client_secret: a version only when the stored value differs from TESLA_CLIENT_SECRET.
store_client_secret() {
  local current=""
  if gc_get current secrets versions access latest "--secret=$CLIENT_SECRET_NAME" &&
    [[ "$current" == "$TESLA_CLIENT_SECRET" ]]; then
    note "$CLIENT_SECRET_NAME is up to date"
    return 0
  fi
  gc_stdin_secret TESLA_CLIENT_SECRET 'TESLA_CLIENT_SECRET' secrets versions add "$CLIENT_SECRET_NAME" --data-file=-
}

# seed_token_record: the first token record, only while the secret has no enabled version
# (or with TESLA_REAUTHORISE=1 after a new authorisation). Afterwards the worker owns it: each
# refresh token works once, so re-seeding an old one would break a working chain.
seed_token_record() {
  local versions=""
  if [[ "${TESLA_REAUTHORISE:-0}" != 1 ]] &&
    gc_get versions secrets versions list "$TOKENS_SECRET_NAME" --filter='state=ENABLED' --limit=1 --format='value(name)' &&
    [[ -n "$versions" ]]; then
    note "$TOKENS_SECRET_NAME already holds a token record: left to the worker"
    return 0
  fi
  if [[ -z "${TESLA_REFRESH_TOKEN:-}" ]]; then
    if is_dry_run; then
      warn "TESLA_REFRESH_TOKEN is not set: the first deploy needs it to seed $TOKENS_SECRET_NAME"
      TESLA_REFRESH_TOKEN=placeholder
    else
      die "TESLA_REFRESH_TOKEN is required: $TOKENS_SECRET_NAME has no token record yet (deploy/README.md, 'Tesla credentials')"
    fi
  fi
  [[ "$TESLA_REFRESH_TOKEN" =~ ^[A-Za-z0-9._~+/=-]+$ ]] ||
    die "TESLA_REFRESH_TOKEN has characters a Tesla refresh token never has (spaces, quotes?)"
  # The record format of shared/domain/token_record.py; no access token yet, so the worker
  # refreshes on first use.
  local updated_at
  updated_at="$(date -u +%Y-%m-%dT%H:%M:%S+00:00)"
  # shellcheck disable=SC2034  # read by gc_stdin_secret through ${!name}
  printf -v TOKEN_RECORD '{"access_token": null, "refresh_token": "%s", "expires_at": "1970-01-01T00:00:00+00:00", "updated_at": "%s"}' \
    "$TESLA_REFRESH_TOKEN" "$updated_at"
  gc_stdin_secret TOKEN_RECORD 'token record holding TESLA_REFRESH_TOKEN' secrets versions add "$TOKENS_SECRET_NAME" --data-file=-
  unset TOKEN_RECORD # forget this copy of the refresh token
}

secrets_setup() {
  log "secrets"
  ensure_secret "$CLIENT_SECRET_NAME"
  ensure_secret "$TOKENS_SECRET_NAME"
  store_client_secret
  seed_token_record
}
