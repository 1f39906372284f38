#!/usr/bin/env bash
# Deploy tesla-offpeak into your own Google Cloud project: the worker (Cloud Run), the scout
# (Cloud Functions 2nd gen), their four service accounts (worker, scout, scheduler, build), the
# secrets, the image repositories and build bucket, three scheduler jobs, the owners' access and,
# with ALERT_EMAIL, an alert e-mail.
#
#   cp deploy/config.env.example deploy/config.env && chmod 600 deploy/config.env   # then fill it in
#   ./deploy_scout_worker.sh              # idempotent: a second run creates nothing
#   DRY_RUN=1 ./deploy_scout_worker.sh    # print every gcloud command, run none
#
# Settings come from the environment or deploy/config.env (DEPLOY_CONFIG=path for another file);
# the environment wins. Guide: deploy/README.md.
set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy/lib.sh"
# shellcheck source=deploy/project.sh
source "$DEPLOY_DIR/project.sh"
# shellcheck source=deploy/iam.sh
source "$DEPLOY_DIR/iam.sh"
# shellcheck source=deploy/secrets.sh
source "$DEPLOY_DIR/secrets.sh"
# shellcheck source=deploy/worker.sh
source "$DEPLOY_DIR/worker.sh"
# shellcheck source=deploy/scout.sh
source "$DEPLOY_DIR/scout.sh"
# shellcheck source=deploy/scheduler.sh
source "$DEPLOY_DIR/scheduler.sh"
# shellcheck source=deploy/alerts.sh
source "$DEPLOY_DIR/alerts.sh"

print_summary() {
  cat <<EOF

Deployed tesla-offpeak into $GOOGLE_CLOUD_PROJECT ($GOOGLE_CLOUD_LOCATION).

  worker  $WORKER_URL
  scout   $SCOUT_URL
  jobs    $SCOUT_JOB (*/15 * * * *), $DAILY_CHECK_JOB (0 23 * * * $TIMEZONE),
          $FAILSAFE_JOB (0 0 * * * $TIMEZONE)

Neither service is public: only $SCOUT_SA and $SCHEDULER_SA may call the worker
as services, and the owners with their own Google identity: ${OWNER_EMAILS:-nobody (set WORKER_OWNER_EMAILS)}.
EOF
  print_alerts
  cat <<EOF

Next steps
  1. Check it:        deploy/smoke_check.sh
EOF
  print_key_steps
  cat <<EOF
  3. Talk to it:      tesla-offpeak --project=$GOOGLE_CLOUD_PROJECT status   (the command line), or the status page:
                        gcloud run services proxy $WORKER_SERVICE_NAME --region=$GOOGLE_CLOUD_LOCATION --port=8080 --project=$GOOGLE_CLOUD_PROJECT
                      then open http://localhost:8080/ (deploy/README.md, 'Talking to your system')
  4. Watch the logs:  gcloud logging read 'resource.type="cloud_run_revision" AND jsonPayload.component="SCOUT"' \\
                        --project=$GOOGLE_CLOUD_PROJECT --freshness=1h
  5. One-shot jobs:   gcloud scheduler jobs list --location=$GOOGLE_CLOUD_LOCATION --project=$GOOGLE_CLOUD_PROJECT
EOF
  if is_dry_run; then
    printf '\nDRY_RUN=1: nothing was changed; the commands above are what a real run would do.\n'
  fi
}

# print_alerts: where the owner hears of a night that goes wrong, and what the e-mail costs.
print_alerts() {
  printf '\n'
  if [[ -n "${ALERT_EMAIL:-}" ]]; then
    printf '  alerts  e-mail to %s (Cloud Monitoring: 1 alert condition, %s a month, no free tier)\n' \
      "$ALERT_EMAIL" "$ALERT_CONDITION_PRICE"
  else
    printf '  alerts  no e-mail (ALERT_EMAIL is not set; it would be 1 alert condition, %s a month)\n' \
      "$ALERT_CONDITION_PRICE"
  fi
  if [[ -n "${ALERT_WEBHOOK_URL:-}" ]]; then
    printf '          and the webhook, whose URL is kept in the secret %s\n' "$ALERT_WEBHOOK_SECRET_NAME"
  fi
}

# print_key_steps: where the public key must be served and the link that pairs it with the car.
print_key_steps() {
  local domain="${TESLA_APP_DOMAIN:-}"
  if [[ -z "$domain" ]]; then
    printf '  2. Pair the key:    set TESLA_APP_DOMAIN in deploy/config.env to see the public-key URL and pairing link\n'
    return 0
  fi
  domain="${domain#https://}"
  domain="${domain%%/*}"
  cat <<EOF
  2. Pair the key:    serve public-key.pem at
                        https://$domain/.well-known/appspecific/com.tesla.3p.public-key.pem
                      then open https://tesla.com/_ak/$domain on the phone with the Tesla app
                      (once per vehicle; deploy/README.md, 'Tesla credentials')
EOF
}

main() {
  if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return 0
  fi
  load_config
  validate_deploy_settings
  set_account_emails
  make_work_dir
  is_dry_run && log "DRY_RUN=1: printing the gcloud commands, running none"
  log "deploying into project $GOOGLE_CLOUD_PROJECT, region $GOOGLE_CLOUD_LOCATION"

  resolve_owners
  enable_apis
  ensure_firestore
  iam_setup_accounts
  secrets_setup
  iam_grant_secret_roles
  ensure_source_bucket
  ensure_repositories
  iam_grant_repository_roles
  deploy_worker
  secrets_cleanup
  deploy_scout
  scout_resolve_url
  iam_grant_invoker_roles
  iam_grant_owner_roles
  scheduler_setup
  alerts_setup
  print_summary
}

main "$@"
