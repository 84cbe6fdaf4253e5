#!/bin/sh
# SPDX-License-Identifier: MIT
# Judges a test guest's run from its console output and the VMM's exit status.
# usage: check-tap.sh OUTPUT_FILE EXIT_STATUS
# A guest passed when the VMM exited with status 1 (debug-exit code 0), the output has a
# plan "1..N", N "ok" lines and no "not ok" line.
out=$1 status=$2
cat "$out"
tr -d '\r' <"$out" >"$out.clean"
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out.clean" | head -n1)
oks=$(grep -c '^ok [0-9]' "$out.clean")
bad=$(grep -c '^not ok [0-9]' "$out.clean")
rm -f "$out.clean"
fail=0
[ "$status" = 1 ] || { echo "FAIL: exit status $status, expected 1 (debug-exit code 0)"; fail=1; }
[ -n "$plan" ] || { echo "FAIL: no TAP plan line"; fail=1; }
[ "$bad" = 0 ] || { echo "FAIL: $bad test(s) not ok"; fail=1; }
[ -z "$plan" ] || [ "$oks" = "$plan" ] || { echo "FAIL: $oks ok of $plan planned"; fail=1; }
[ $fail = 0 ] && echo "PASS: $oks/$plan ok, exit status $status"
exit $fail
