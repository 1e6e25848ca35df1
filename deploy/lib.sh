# shellcheck shell=bash
# Shared by deploy.sh, backup.sh and restore.sh (sourced, not run): every Google Cloud
# command goes through run/capture/exists, so --dry-run prints exactly what a real run does
# and a real run stops at the first failing command with the step it was in.
# The sourcing script sets: script (its name), dry_run (0 or 1), step (the current step).
# shellcheck disable=SC2154  # those three are the sourcing script's

# Dry-run lines go to fd 3, the original stdout, so they show even inside $(capture …).
exec 3>&1

die() {
  echo "${script}: $*" >&2
  exit 1
}

show() {
  printf '+' >&3
  printf ' %q' "$@" >&3
  printf '\n' >&3
}

fail() {
  local rc="$1"
  shift
  echo "${script}: step '${step}' failed (exit ${rc}): $*" >&2
  exit "$rc"
}

# Runs a command (prints it with --dry-run); a failure ends the script.
run() {
  if ((dry_run)); then
    show "$@"
    return 0
  fi
  local rc=0
  "$@" || rc=$?
  ((rc == 0)) || fail "$rc" "$@"
}

# Prints a command's output (with --dry-run: the command, and the placeholder $1 as output).
capture() {
  local placeholder="$1"
  shift
  if ((dry_run)); then
    show "$@"
    printf '%s' "$placeholder"
    return 0
  fi
  local output rc=0
  output="$("$@")" || rc=$?
  ((rc == 0)) || fail "$rc" "$@"
  printf '%s' "$output"
}

# True when a describe-style command succeeds. With --dry-run it prints the command and
# answers "missing", so the dry run shows what an empty project gets.
exists() {
  if ((dry_run)); then
    show "$@"
    return 1
  fi
  "$@" >/dev/null 2>&1
}

# Reads the value of an option that needs one: `take --project "$@"`.
need_value() {
  [[ $# -ge 2 && -n $2 && $2 != --* ]] || die "$1 needs a value"
}
