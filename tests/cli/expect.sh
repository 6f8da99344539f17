#!/usr/bin/env bash
# expect.sh RC PATTERN [!PATTERN ...] -- COMMAND...: runs COMMAND and checks that it exits with
# RC and that its combined output matches every PATTERN (extended regex) and no !PATTERN.
# Used by the CLI tests, which assert what a user sees.
set -u
rc_want=$1
shift
pats=()
while [[ $# -gt 0 && $1 != -- ]]; do
  pats+=("$1")
  shift
done
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [[ $rc -eq 77 && $rc_want -ne 77 ]]; then
  exit 77
fi
if [[ $rc -ne $rc_want ]]; then
  echo "FAIL: exit code $rc, expected $rc_want: $*" >&2
  exit 1
fi
for p in "${pats[@]}"; do
  if [[ $p == !* ]]; then
    if grep -Eq -- "${p:1}" <<<"$out"; then
      echo "FAIL: output matches '${p:1}' but should not" >&2
      exit 1
    fi
  elif ! grep -Eq -- "$p" <<<"$out"; then
    echo "FAIL: output does not match '$p'" >&2
    exit 1
  fi
done
exit 0
