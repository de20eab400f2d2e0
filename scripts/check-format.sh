#!/usr/bin/env bash
# Checks that every C and C++ file of the project is formatted as .clang-format says (Debian 12's
# clang-format, version 14). Prints the files that differ and fails; `--fix` rewrites them instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "check-format: clang-format is missing (scripts/setup.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' '*.cpp' | grep -v '^build')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
differing=()
for file in "${files[@]}"; do
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || differing+=("$file")
done
if ((${#differing[@]})); then
  echo "check-format: ${#differing[@]} of ${#files[@]} files differ from .clang-format (fix: scripts/check-format.sh --fix):" >&2
  printf '  %s\n' "${differing[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} C/C++ files follow .clang-format"
