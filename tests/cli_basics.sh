#!/usr/bin/env bash
# The command line: help, version, unknown commands and options, exit codes, both option spellings.
set -uo pipefail
bin=${MHRFIT_BIN:?}
pass=0; fail=0
expect() { # description expected-code command...
  local desc=$1 want=$2; shift 2
  "$@" >/tmp/mhrfit_cli_out.$$ 2>&1; local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $desc: exit $got, want $want"; cat /tmp/mhrfit_cli_out.$$; fi
}
expect_out() { # description pattern command...
  local desc=$1 pat=$2; shift 2
  local out
  out=$("$@" 2>&1)
  if grep -q -- "$pat" <<<"$out"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $desc: output lacks '$pat'"; fi
}
expect "no arguments is a usage error" 2 "$bin"
expect "--help succeeds" 0 "$bin" --help
expect "--version succeeds" 0 "$bin" --version
expect "unknown command" 2 "$bin" no-such-command
expect "inspect --help" 0 "$bin" inspect --help
expect "unknown option" 2 "$bin" inspect --no-such-option x
expect "missing positional" 2 "$bin" inspect
expect "missing file is a runtime failure" 1 "$bin" inspect /nonexistent/file.npy
expect_out "help lists inspect" "inspect" "$bin" --help
expect_out "unknown option is named" "no-such-option" "$bin" inspect --no-such-option x
rm -f /tmp/mhrfit_cli_out.$$
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
