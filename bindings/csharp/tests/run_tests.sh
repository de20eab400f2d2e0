#!/bin/sh
# Runs the NUnit 2.6 suite and ends with one plain line that CI can read:
#   nunit: N passed, M failed, K skipped
# (nunit-console's own summary is not in that form). Exits non-zero when a test failed, when
# nothing ran, or when the result file is missing.
#
#   run_tests.sh <nunit-console> <SoftPrompt.Tests.dll> <TestResult.xml>
#
# -noshadow keeps the assemblies where they are, so Mono finds libsoftprompt_csharp.so next to
# SoftPrompt.dll; -labels names each test in the output.
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 <nunit-console> <tests.dll> <result.xml>" >&2
  exit 2
fi
rm -f "$3"
"$1" -nologo -noshadow -labels "$2" -result="$3"
runner_status=$?

summary=$(grep -o '<test-results [^>]*>' "$3" 2>/dev/null)
if [ -z "$summary" ]; then
  echo "nunit: 0 passed, 1 failed, 0 skipped (no result file from nunit-console, exit status $runner_status)"
  exit 1
fi
count() { # count <attribute>: the number in attribute="N" of <test-results>
  printf '%s\n' "$summary" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"
}
total=$(count total)          # tests that ran
errors=$(count errors)
failures=$(count failures)
inconclusive=$(count inconclusive)
not_run=$(count not-run)      # ignored + skipped + invalid
failed=$((errors + failures))
passed=$((total - failed - inconclusive))
echo "nunit: $passed passed, $failed failed, $not_run skipped"
if [ "$runner_status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
  exit 1
fi
exit 0
