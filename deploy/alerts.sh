# shellcheck shell=bash
# The owner's alert e-mail (ALERT_EMAIL): one Cloud Monitoring e-mail notification channel and ONE
# log-based alert policy that mails it whenever the worker logs an alert event: a log line carrying
# `jsonPayload.event` (need_at_risk, owner_action_required, session_failed, reauthorisation_required,
# daily_check_failed, failsafe_failed, plug_in_reminder; worker_service/services/alerts.py).
#
# An alert condition costs $1.50 a month with no free tier (FACTS, Cloud Monitoring), so without
# ALERT_EMAIL the channel and policy a deploy made earlier are deleted, as teardown does. Ours are
# found again by a list (the channel by type, display name and user label app=tesla-offpeak; the
# policy by display name and label), never guessed from an error text, and updated in place.
# Log-based policies must limit their notifications: at most one mail per event kind an hour.
# `gcloud monitoring policies` exists only in gcloud's alpha track, channels in beta (Cloud Shell
# has both; elsewhere `gcloud components install alpha beta`).

ALERT_CONDITION_PRICE="\$1.50"
ALERT_CHANNEL_DISPLAY_NAME='tesla-offpeak owner e-mail'
ALERT_POLICY_DISPLAY_NAME='tesla-offpeak night alerts'
ALERT_RATE_LIMIT=3600s
# An incident of a log-based policy closes after this long without a new matching line (30 min is
# the least Monitoring accepts).
ALERT_AUTO_CLOSE=1800s

# address_label EMAIL: a short hash of the address, kept as the channel's user label `address`:
# labels cannot hold an e-mail address, and a list may return the address itself masked.
address_label() { printf '%s' "${1,,}" | sha256_of | cut -c1-16; }

# read_alert_resources: ALERT_CHANNELS ("name<TAB>address hash" lines) and ALERT_POLICIES (names)
# of ours; empty under DRY_RUN.
read_alert_resources() {
  local channels="" policies=""
  # --type is sent to the API as its filter; the rest is picked here, so no filter syntax has to
  # be shared between gcloud and the Monitoring API.
  gc_get channels beta monitoring channels list --type=email \
    --format='value(name,displayName,userLabels.app,userLabels.address)' || true
  ALERT_CHANNELS="$(awk -F'\t' -v shown="$ALERT_CHANNEL_DISPLAY_NAME" \
    '$2 == shown && $3 == "tesla-offpeak" { print $1 "\t" $4 }' <<<"$channels")"
  gc_get policies alpha monitoring policies list \
    "--filter=displayName=\"$ALERT_POLICY_DISPLAY_NAME\" AND userLabels.app=\"tesla-offpeak\"" \
    --format='value(name)' || true
  ALERT_POLICIES="$policies"
}

# delete_alert_resources [KEEP_POLICY KEEP_CHANNEL]: our policies, then our channels (a channel in
# use by a policy cannot be deleted), except the ones named.
delete_alert_resources() {
  local keep_policy="${1:-}" keep_channel="${2:-}" name
  while IFS= read -r name; do
    [[ -z "$name" || "$name" == "$keep_policy" ]] || gc alpha monitoring policies delete "$name"
  done <<<"$ALERT_POLICIES"
  while IFS=$'\t' read -r name _; do
    [[ -z "$name" || "$name" == "$keep_channel" ]] || gc beta monitoring channels delete "$name"
  done <<<"$ALERT_CHANNELS"
}

# ensure_alert_channel: ALERT_CHANNEL, our e-mail channel, made or pointed at ALERT_EMAIL.
ensure_alert_channel() {
  local row hash
  hash="$(address_label "$ALERT_EMAIL")"
  row="$(head -n 1 <<<"$ALERT_CHANNELS")"
  if [[ -z "$row" ]]; then
    gc_out ALERT_CHANNEL beta monitoring channels create --type=email "--display-name=$ALERT_CHANNEL_DISPLAY_NAME" \
      '--description=tesla-offpeak: mails the owner when a night of charging goes wrong' \
      "--channel-labels=email_address=$ALERT_EMAIL" "--user-labels=app=tesla-offpeak,address=$hash" \
      --format='value(name)'
    if is_dry_run; then
      ALERT_CHANNEL="projects/$GOOGLE_CLOUD_PROJECT/notificationChannels/CHANNEL_ID"
    fi
    [[ -n "$ALERT_CHANNEL" ]] || die "the new notification channel has no name"
    return 0
  fi
  ALERT_CHANNEL="${row%%$'\t'*}"
  if [[ "${row#*$'\t'}" == "$hash" ]]; then
    note "notification channel $ALERT_CHANNEL mails ALERT_EMAIL"
  else
    gc beta monitoring channels update "$ALERT_CHANNEL" "--update-channel-labels=email_address=$ALERT_EMAIL" \
      "--update-user-labels=address=$hash" --format=none
  fi
}

# json_string TEXT: TEXT as a JSON string literal (quotes and backslashes escaped; one line).
json_string() {
  local text="$1"
  text="${text//\\/\\\\}"
  text="${text//\"/\\\"}"
  printf '"%s"' "$text"
}

# write_alert_policy FILE: the policy (REST v3 AlertPolicy) notifying ALERT_CHANNEL.
write_alert_policy() {
  local filter documentation
  filter="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$WORKER_SERVICE_NAME\" AND jsonPayload.event:*"
  documentation="The tesla-offpeak worker reported **\${log.extracted_label.event}** in project $GOOGLE_CLOUD_PROJECT."
  documentation+=" See what happened and what to do on the status page or with \`tesla-offpeak status\`"
  documentation+=" (deploy/README.md, 'Talking to your system'). At most one mail per kind of event an hour."
  cat >"$1" <<JSON
{
  "displayName": $(json_string "$ALERT_POLICY_DISPLAY_NAME"),
  "userLabels": {"app": "tesla-offpeak"},
  "documentation": {
    "subject": $(json_string "tesla-offpeak: \${log.extracted_label.event}"),
    "content": $(json_string "$documentation"),
    "mimeType": "text/markdown"
  },
  "combiner": "OR",
  "conditions": [
    {
      "displayName": "The worker logged an alert event",
      "conditionMatchedLog": {
        "filter": $(json_string "$filter"),
        "labelExtractors": {"event": "EXTRACT(jsonPayload.event)"}
      }
    }
  ],
  "alertStrategy": {"notificationRateLimit": {"period": "$ALERT_RATE_LIMIT"}, "autoClose": "$ALERT_AUTO_CLOSE"},
  "notificationChannels": [$(json_string "$ALERT_CHANNEL")],
  "severity": "WARNING",
  "enabled": true
}
JSON
}

# alerts_setup: with ALERT_EMAIL, the channel and the one policy (made, or updated in place); without
# it, the ones of an earlier deploy are deleted.
alerts_setup() {
  if [[ -z "${ALERT_EMAIL:-}" ]]; then
    api_enabled monitoring.googleapis.com || return 0
    read_alert_resources
    [[ -n "$ALERT_POLICIES$ALERT_CHANNELS" ]] || return 0
    log "alert e-mail: ALERT_EMAIL is not set, so the alert policy and channel of an earlier deploy are deleted"
    delete_alert_resources
    return 0
  fi
  log "alert e-mail to $ALERT_EMAIL (Cloud Monitoring: 1 alert condition, $ALERT_CONDITION_PRICE a month)"
  read_alert_resources
  ensure_alert_channel
  local policy file="$WORK_DIR/alert-policy.json"
  write_alert_policy "$file"
  policy="$(head -n 1 <<<"$ALERT_POLICIES")"
  if [[ -n "$policy" ]]; then
    gc alpha monitoring policies update "$policy" "--policy-from-file=$file" --format=none
  else
    gc alpha monitoring policies create "--policy-from-file=$file" --format=none
  fi
  # Each condition is billed: a second policy or channel of ours (an interrupted run) goes.
  delete_alert_resources "$policy" "$ALERT_CHANNEL"
}

# alerts_teardown: every channel and policy of ours.
alerts_teardown() {
  log "alert policy and notification channel"
  if is_dry_run; then
    note "DRY_RUN: the alert policy '$ALERT_POLICY_DISPLAY_NAME' and channel '$ALERT_CHANNEL_DISPLAY_NAME' are found by a list, then deleted"
  fi
  api_enabled monitoring.googleapis.com || return 0
  read_alert_resources
  delete_alert_resources
}
