#!/usr/bin/env bash
# One command from a Google Cloud project to a working URL: builds both images, deploys the
# backend and the dashboard to Cloud Run, the page and the Firestore indexes to Firebase,
# the monitoring, and (behind a load balancer) the Cloud Armor policy; prints the URLs.
# Safe to run again: what exists is updated or left alone. See docs/DEPLOYMENT.md.
#
#   deploy/deploy.sh --project ID [--region us-central1] [--firebase-api-key KEY]
#                    [--tag TAG] [--vertex-location REGION] [--admin EMAIL]...
#                    [--lb-backend-service NAME] [--dry-run]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

script="deploy.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project=""
region="us-central1"
vertex_location=""
tag=""
firebase_api_key="${FIREBASE_WEB_API_KEY:-}"
lb_backend_service=""
admins=()
dry_run=0
step="arguments"

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while (($#)); do
  case "$1" in
    --project) need_value "$@"; project="$2"; shift 2 ;;
    --region) need_value "$@"; region="$2"; shift 2 ;;
    --vertex-location) need_value "$@"; vertex_location="$2"; shift 2 ;;
    --tag) need_value "$@"; tag="$2"; shift 2 ;;
    --firebase-api-key) need_value "$@"; firebase_api_key="$2"; shift 2 ;;
    --lb-backend-service) need_value "$@"; lb_backend_service="$2"; shift 2 ;;
    --admin) need_value "$@"; admins+=("$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[[ -n $project ]] || die "--project is required"
[[ -n $firebase_api_key ]] ||
  die "--firebase-api-key (or FIREBASE_WEB_API_KEY) is required: the page signs users in with it"
vertex_location="${vertex_location:-$region}"
if [[ -z $tag ]]; then
  tag="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)"
fi

repo="liveavatar"
registry="${region}-docker.pkg.dev/${project}/${repo}"
backend_image="${registry}/backend:${tag}"
dashboard_image="${registry}/dashboard:${tag}"
media_bucket="${project}-liveavatar-media"
backend_sa="liveavatar-backend@${project}.iam.gserviceaccount.com"
dashboard_sa="liveavatar-dashboard@${project}.iam.gserviceaccount.com"
p=(--project "$project")
# Proxies that append to X-Forwarded-For: Cloud Run's front end, and the load balancer's.
proxy_hops=1
[[ -z $lb_backend_service ]] || proxy_hops=2

step="enable the APIs"
apis=(run cloudbuild artifactregistry firestore storage secretmanager aiplatform
  iamcredentials iap monitoring logging firebasehosting)
[[ -z $lb_backend_service ]] || apis+=(compute)
run gcloud services enable "${apis[@]/%/.googleapis.com}" "${p[@]}"

step="read the project number"
number="$(capture PROJECT_NUMBER gcloud projects describe "$project" --format='value(projectNumber)')"
[[ -n $number ]] || fail 1 "gcloud projects describe $project gave no project number"
# Cloud Run's deterministic URLs: each service can name the other before either exists.
backend_url="https://liveavatar-backend-${number}.${region}.run.app"
dashboard_url="https://liveavatar-dashboard-${number}.${region}.run.app"
iap_audience="/projects/${number}/locations/${region}/services/liveavatar-dashboard"

step="create the image repository"
exists gcloud artifacts repositories describe "$repo" --location "$region" "${p[@]}" ||
  run gcloud artifacts repositories create "$repo" --repository-format docker \
    --location "$region" --description "Gemini Live Avatar images" "${p[@]}"

step="create the service accounts"
for name in backend dashboard; do
  exists gcloud iam service-accounts describe "liveavatar-${name}@${project}.iam.gserviceaccount.com" "${p[@]}" ||
    run gcloud iam service-accounts create "liveavatar-${name}" \
      --display-name "Gemini Live Avatar ${name}" "${p[@]}"
done

step="grant the service accounts their roles"
# Each role and why: docs/DEPLOYMENT.md, "Service accounts".
grant() {
  run gcloud projects add-iam-policy-binding "$project" --member "serviceAccount:$1" \
    --role "$2" --condition None --quiet
}
grant "$backend_sa" roles/datastore.user
grant "$backend_sa" roles/aiplatform.user
grant "$dashboard_sa" roles/datastore.user
for sa in "$backend_sa" "$dashboard_sa"; do
  # Signs media URLs through IAM signBlob as itself: no key file exists anywhere.
  run gcloud iam service-accounts add-iam-policy-binding "$sa" --member "serviceAccount:$sa" \
    --role roles/iam.serviceAccountTokenCreator "${p[@]}"
done

step="create the Firestore database"
exists gcloud firestore databases describe --database='(default)' "${p[@]}" ||
  run gcloud firestore databases create --database='(default)' --location "$region" \
    --type firestore-native "${p[@]}"
# Firestore deletes expired resumption entries itself (the backend also purges them).
run gcloud firestore fields ttls update expiresAt --collection-group=resumptions \
  --enable-ttl --async --quiet "${p[@]}"

step="create the media bucket"
exists gcloud storage buckets describe "gs://${media_bucket}" "${p[@]}" ||
  run gcloud storage buckets create "gs://${media_bucket}" --location "$region" \
    --uniform-bucket-level-access --public-access-prevention "${p[@]}"
for sa in "$backend_sa" "$dashboard_sa"; do
  run gcloud storage buckets add-iam-policy-binding "gs://${media_bucket}" \
    --member "serviceAccount:$sa" --role roles/storage.objectUser "${p[@]}"
done

step="grant access to the secrets"
for secret in GEMINI_API_KEY ADMIN_TOKEN; do
  if exists gcloud secrets describe "$secret" "${p[@]}"; then
    for sa in "$backend_sa" "$dashboard_sa"; do
      run gcloud secrets add-iam-policy-binding "$secret" --member "serviceAccount:$sa" \
        --role roles/secretmanager.secretAccessor "${p[@]}"
    done
  fi
done

step="build the images"
run gcloud builds submit "$root" --config "$here/cloudbuild.yaml" \
  --substitutions "_REGION=${region},_REPO=${repo},_TAG=${tag}" "${p[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Fills the ${NAME} placeholders of a service file; refuses to leave one unfilled.
render() {
  local src="$1" out="$2"
  sed -e "s|\${PROJECT_ID}|${project}|g" -e "s|\${REGION}|${region}|g" \
    -e "s|\${VERTEX_LOCATION}|${vertex_location}|g" -e "s|\${MEDIA_BUCKET}|${media_bucket}|g" \
    -e "s|\${BACKEND_IMAGE}|${backend_image}|g" -e "s|\${DASHBOARD_IMAGE}|${dashboard_image}|g" \
    -e "s|\${BACKEND_URL}|${backend_url/https:/wss:}|g" -e "s|\${DASHBOARD_URL}|${dashboard_url}|g" \
    -e "s|\${IAP_AUDIENCE}|${iap_audience}|g" -e "s|\${TRUSTED_PROXY_HOPS}|${proxy_hops}|g" \
    "$src" >"$out"
  # shellcheck disable=SC2016  # a literal ${NAME} is what is looked for
  if grep -n '\${[A-Z_]*}' "$out" >&2; then
    fail 1 "render $src: a placeholder above has no value"
  fi
}

step="deploy the backend"
render "$here/cloudrun/backend.yaml" "$work/backend.yaml"
run gcloud run services replace "$work/backend.yaml" --region "$region" "${p[@]}"
# The page's users are checked by the backend itself (Firebase ID tokens), not by IAM.
run gcloud run services add-iam-policy-binding liveavatar-backend --region "$region" \
  --member allUsers --role roles/run.invoker "${p[@]}"

step="deploy the dashboard"
render "$here/cloudrun/dashboard.yaml" "$work/dashboard.yaml"
run gcloud run services replace "$work/dashboard.yaml" --region "$region" "${p[@]}"
run gcloud run services add-iam-policy-binding liveavatar-dashboard --region "$region" \
  --member "serviceAccount:service-${number}@gcp-sa-iap.iam.gserviceaccount.com" \
  --role roles/run.invoker "${p[@]}"
for admin in "${admins[@]}"; do
  run gcloud iap web add-iam-policy-binding --resource-type cloud-run \
    --service liveavatar-dashboard --region "$region" --member "user:${admin}" \
    --role roles/iap.httpsResourceAccessor "${p[@]}"
done

step="deploy the page and the Firestore indexes"
mkdir -p "$work/site"
cp -R "$root/frontend" "$work/site/public"
# The sign-in SDK from the pinned npm package (package-lock.json), served by the site itself.
python3 "$root/scripts/vendor_firebase.py" --node-modules "$root/node_modules" \
  --out "$work/site/public/vendor/firebase" ||
  fail 1 "the Firebase JS SDK could not be copied: run 'npm ci' in the repository first"
cp "$here/firebase.json" "$here/firestore.indexes.json" "$work/site/"
cat >"$work/site/public/deploy-config.json" <<JSON
{"backendUrl": "${backend_url/https:/wss:}/ws", "dashboardUrl": "${dashboard_url}",
 "firebase": {"apiKey": "${firebase_api_key}", "authDomain": "${project}.firebaseapp.com",
              "projectId": "${project}"},
 "authRequired": true}
JSON
run firebase deploy --only hosting,firestore:indexes --config "$work/site/firebase.json" \
  --project "$project" --non-interactive

step="apply the log-based metrics"
for file in "$here"/monitoring/metrics/*.json; do
  metric="$(basename "$file" .json)"
  if exists gcloud logging metrics describe "$metric" "${p[@]}"; then
    run gcloud logging metrics update "$metric" --config-from-file "$file" "${p[@]}"
  else
    run gcloud logging metrics create "$metric" --config-from-file "$file" "${p[@]}"
  fi
done

# The "displayName" of a monitoring file: what finds it again on the next run.
display_name() {
  sed -n 's/^ *"displayName": "\([^"]*\)".*/\1/p' "$1" | head -n 1
}

step="apply the alert policies"
for file in "$here"/monitoring/alerts/*.json; do
  title="$(display_name "$file")"
  found="$(capture "" gcloud alpha monitoring policies list --filter "displayName=\"${title}\"" \
    --format 'value(name)' "${p[@]}")"
  if [[ -n $found ]]; then
    run gcloud alpha monitoring policies update "${found%%$'\n'*}" --policy-from-file "$file" "${p[@]}"
  else
    run gcloud alpha monitoring policies create --policy-from-file "$file" "${p[@]}"
  fi
done

step="apply the dashboard"
title="$(display_name "$here/monitoring/dashboard.json")"
found="$(capture "" gcloud monitoring dashboards list --filter "displayName=\"${title}\"" \
  --format 'value(name)' "${p[@]}")"
if [[ -n $found ]]; then
  run gcloud monitoring dashboards update "${found%%$'\n'*}" \
    --config-from-file "$here/monitoring/dashboard.json" "${p[@]}"
else
  run gcloud monitoring dashboards create --config-from-file "$here/monitoring/dashboard.json" "${p[@]}"
fi

step="create the uptime check"
uptime_name="liveavatar backend /healthz"
found="$(capture "" gcloud monitoring uptime list-configs --filter "displayName=\"${uptime_name}\"" \
  --format 'value(name)' "${p[@]}")"
if [[ -z $found ]]; then
  run gcloud monitoring uptime create "$uptime_name" --resource-type uptime-url \
    --resource-labels "host=${backend_url#https://},project_id=${project}" \
    --protocol https --path /healthz --period 1 --timeout 10 "${p[@]}"
fi

step="apply the Cloud Armor policy"
if [[ -n $lb_backend_service ]]; then
  exists gcloud compute security-policies describe liveavatar-armor "${p[@]}" ||
    run gcloud compute security-policies create liveavatar-armor \
      --description "Gemini Live Avatar: per-IP rate limit" "${p[@]}"
  run gcloud compute security-policies import liveavatar-armor \
    --file-name "$here/armor-policy.yaml" --file-format yaml "${p[@]}"
  run gcloud compute backend-services update "$lb_backend_service" \
    --security-policy liveavatar-armor --global "${p[@]}"
else
  echo "Cloud Armor: skipped (no --lb-backend-service; Cloud Run's own front end takes no policy)"
fi

cat <<DONE

Deployed ${tag} to ${project} (${region}).
  Page        https://${project}.web.app/
  Backend     ${backend_url/https:/wss:}/ws
  Dashboard   ${dashboard_url}/   (IAP: grant people with --admin EMAIL)
DONE
