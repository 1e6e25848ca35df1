#!/usr/bin/env bash
# Restores a backup made by backup.sh: imports its Firestore export and copies its media
# back into the media bucket. Documents in the backup overwrite those with the same id;
# nothing else is deleted. See docs/DEPLOYMENT.md.
#
#   deploy/restore.sh --project ID --from gs://BUCKET/YYYYmmddTHHMMSSZ [--media-bucket NAME]
#                     (--yes | --dry-run)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

script="restore.sh"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project=""
from=""
media_bucket=""
dry_run=0
confirmed=0
step="arguments"

while (($#)); do
  case "$1" in
    --project) need_value "$@"; project="$2"; shift 2 ;;
    --from) need_value "$@"; from="${2%/}"; shift 2 ;;
    --media-bucket) need_value "$@"; media_bucket="$2"; shift 2 ;;
    --yes) confirmed=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ -n $project ]] || die "--project is required"
[[ $from == gs://*/* ]] || die "--from must be a backup folder, gs://BUCKET/STAMP (backup.sh prints it)"
((confirmed || dry_run)) || die "restoring overwrites production data: add --yes (or --dry-run to see the commands)"
media_bucket="${media_bucket:-${project}-liveavatar-media}"
p=(--project "$project")

step="import Firestore"
run gcloud firestore import "${from}/firestore" --database='(default)' "${p[@]}"

step="copy the media back"
run gcloud storage rsync "${from}/media" "gs://${media_bucket}" --recursive "${p[@]}"

if ((dry_run)); then
  echo "dry run: ${from} would be restored into ${project}"
else
  echo "restored ${from} into ${project}"
fi
