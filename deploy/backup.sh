#!/usr/bin/env bash
# Backs up production data into a dated folder of a backup bucket: a Firestore export and a
# copy of the media bucket (avatar media and recordings). See docs/DEPLOYMENT.md.
#
#   deploy/backup.sh --project ID [--backup-bucket NAME] [--media-bucket NAME]
#                    [--location us-central1] [--dry-run]
#
# Prints the folder it wrote (gs://BUCKET/YYYYmmddTHHMMSSZ), which restore.sh takes.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

script="backup.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project=""
backup_bucket=""
media_bucket=""
location="us-central1"
dry_run=0
step="arguments"

while (($#)); do
  case "$1" in
    --project) need_value "$@"; project="$2"; shift 2 ;;
    --backup-bucket) need_value "$@"; backup_bucket="$2"; shift 2 ;;
    --media-bucket) need_value "$@"; media_bucket="$2"; shift 2 ;;
    --location) need_value "$@"; location="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ -n $project ]] || die "--project is required"
backup_bucket="${backup_bucket:-${project}-liveavatar-backups}"
media_bucket="${media_bucket:-${project}-liveavatar-media}"
dest="gs://${backup_bucket}/$(date -u +%Y%m%dT%H%M%SZ)"
p=(--project "$project")

step="create the backup bucket"
exists gcloud storage buckets describe "gs://${backup_bucket}" "${p[@]}" ||
  run gcloud storage buckets create "gs://${backup_bucket}" --location "$location" \
    --uniform-bucket-level-access --public-access-prevention "${p[@]}"

step="export Firestore"
run gcloud firestore export "${dest}/firestore" --database='(default)' "${p[@]}"

step="copy the media bucket"
run gcloud storage rsync "gs://${media_bucket}" "${dest}/media" --recursive "${p[@]}"

if ((dry_run)); then
  echo "dry run: a backup would be written to ${dest}"
else
  echo "backup written to ${dest}"
fi
