# shellcheck shell=bash
# shellcheck disable=SC2034  # COMMAND_KEY_STORED and OPTIONAL_SECRET_STORED are read by iam.sh and worker.sh
# The secrets: the Tesla client secret (read by the worker through secretKeyRef), the token record
# (contract: TOKENS_SECRET_NAME), which the deploy seeds once from TESLA_REFRESH_TOKEN, the
# owner's command-signing private key (TESLA_COMMAND_KEY_SECRET), from TESLA_COMMAND_KEY_FILE, and
# two optional ones the worker reads by secretKeyRef only when set: ALERT_WEBHOOK_URL (secret
# tesla-alert-webhook: a webhook URL often embeds its own secret) and ENTSOE_API_TOKEN
# (tesla-entsoe-token).
#
# Values go to gcloud on stdin (`--data-file=-`) or as a file (`--data-file=PATH`), never on a
# command line. A new version is added only when the value changed: every enabled version is
# billed (FACTS, Secret Manager).

ensure_secret() {
  local name="$1"
  if listed "$name" "$SECRET_NAMES"; then
    note "secret $name exists"
  else
    gc secrets create "$name" --labels=app=tesla-offpeak --format=none
    SECRET_NAMES+=$'\n'"$name"
  fi
}

# has_enabled_version SECRET: the secret holds an enabled version (under DRY_RUN: no).
has_enabled_version() {
  local versions=""
  listed "$1" "$SECRET_NAMES" || return 1
  gc_get versions secrets versions list "$1" --filter='state=ENABLED' --limit=1 --format='value(name)' && [[ -n "$versions" ]]
}

# store_client_secret: a version only when the stored value differs from TESLA_CLIENT_SECRET.
store_client_secret() {
  local current=""
  if has_enabled_version "$CLIENT_SECRET_NAME" &&
    gc_get current secrets versions access latest "--secret=$CLIENT_SECRET_NAME" &&
    [[ "$current" == "$TESLA_CLIENT_SECRET" ]]; then
    note "$CLIENT_SECRET_NAME is up to date"
    return 0
  fi
  gc_stdin_secret TESLA_CLIENT_SECRET 'TESLA_CLIENT_SECRET' secrets versions add "$CLIENT_SECRET_NAME" --data-file=- --format=none
}

# seed_token_record: the first token record, only while the secret has no enabled version
# (or with TESLA_REAUTHORISE=1 after a new authorisation). Afterwards the worker owns it: each
# refresh token works once, so re-seeding an old one would break a working chain.
seed_token_record() {
  if [[ "${TESLA_REAUTHORISE:-0}" != 1 ]] && has_enabled_version "$TOKENS_SECRET_NAME"; then
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
  gc_stdin_secret TOKEN_RECORD 'token record holding TESLA_REFRESH_TOKEN' secrets versions add "$TOKENS_SECRET_NAME" --data-file=- --format=none
  unset TOKEN_RECORD # forget this copy of the refresh token
}

# command_key_path: TESLA_COMMAND_KEY_FILE, a relative path taken from the repository root.
command_key_path() {
  local path="${TESLA_COMMAND_KEY_FILE:-}"
  [[ -z "$path" || "$path" == /* ]] || path="$REPO_ROOT/${path#./}"
  printf '%s' "$path"
}

# store_command_key: the signing key as the secret's latest version, added only when it changed.
# Without a key file the deploy goes on: the worker then cannot sign, and cars that need signed
# commands fail with signing_required until a key is stored.
store_command_key() {
  local path stored=""
  path="$(command_key_path)"
  COMMAND_KEY_STORED=0
  if [[ -z "$path" || ! -f "$path" ]]; then
    warn "no command-signing key (TESLA_COMMAND_KEY_FILE=${TESLA_COMMAND_KEY_FILE:-unset}): the worker cannot sign commands;"
    warn "cars that need signed commands will fail with signing_required. Make one (deploy/README.md, 'Tesla credentials'):"
    warn "  openssl ecparam -name prime256v1 -genkey -noout -out private-key.pem"
    if listed "$TESLA_COMMAND_KEY_SECRET" "$SECRET_NAMES"; then
      note "the key stored earlier in $TESLA_COMMAND_KEY_SECRET is kept"
      COMMAND_KEY_STORED=1
    fi
    return 0
  fi
  grep -Eq -- '-----BEGIN (EC )?PRIVATE KEY-----' "$path" ||
    die "TESLA_COMMAND_KEY_FILE ($path) is not a PEM private key (openssl ecparam -name prime256v1 -genkey -noout -out private-key.pem)"
  ensure_secret "$TESLA_COMMAND_KEY_SECRET"
  COMMAND_KEY_STORED=1
  # Compared in memory; the key is never printed and goes to gcloud as a file.
  if has_enabled_version "$TESLA_COMMAND_KEY_SECRET" &&
    gc_get stored secrets versions access latest "--secret=$TESLA_COMMAND_KEY_SECRET" &&
    [[ "$stored" == "$(<"$path")" ]]; then
    note "$TESLA_COMMAND_KEY_SECRET is up to date"
    return 0
  fi
  gc secrets versions add "$TESLA_COMMAND_KEY_SECRET" "--data-file=$path" --format=none
}

# OPTIONAL_SECRET_STORED[SECRET]=1: the worker reads SECRET (the template keeps its secretKeyRef).
declare -A OPTIONAL_SECRET_STORED=()
# Optional secrets to delete once the worker no longer refers to them (secrets_cleanup).
OPTIONAL_SECRETS_UNSET=()

# store_optional_secret VAR SECRET: the value of VAR as SECRET's latest version, added only when it
# changed (each enabled version is billed). With VAR unset a SECRET of ours is deleted, after the
# worker stops referring to it (a revision whose secretKeyRef is missing cannot start).
store_optional_secret() {
  local var="$1" name="$2" current=""
  if [[ -z "${!var:-}" ]]; then
    ! listed "$name" "$SECRET_NAMES" || OPTIONAL_SECRETS_UNSET+=("$name")
    return 0
  fi
  ensure_secret "$name"
  OPTIONAL_SECRET_STORED["$name"]=1
  if has_enabled_version "$name" && gc_get current secrets versions access latest "--secret=$name" &&
    [[ "$current" == "${!var}" ]]; then
    note "$name is up to date"
    return 0
  fi
  gc_stdin_secret "$var" "$var" secrets versions add "$name" --data-file=- --format=none
}

# secrets_cleanup: delete the optional secrets whose setting was removed (after the worker was replaced).
secrets_cleanup() {
  local name
  for name in ${OPTIONAL_SECRETS_UNSET[@]+"${OPTIONAL_SECRETS_UNSET[@]}"}; do
    note "$name is no longer set in deploy/config.env: deleting the secret"
    gc secrets delete "$name"
  done
}

secrets_setup() {
  log "secrets"
  read_secret_names
  ensure_secret "$CLIENT_SECRET_NAME"
  ensure_secret "$TOKENS_SECRET_NAME"
  store_client_secret
  seed_token_record
  store_command_key
  store_optional_secret ALERT_WEBHOOK_URL "$ALERT_WEBHOOK_SECRET_NAME"
  store_optional_secret ENTSOE_API_TOKEN "$ENTSOE_SECRET_NAME"
}
