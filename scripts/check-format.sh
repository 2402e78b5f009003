#!/usr/bin/env bash
# Fails when a tracked C++ file is not as clang-format (with the repository's
# .clang-format) would write it, and names the files; `clang-format -i FILE`
# fixes one. scripts/test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
unformatted=()
for file in "${files[@]}"; do
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done
if (( ${#unformatted[@]} > 0 )); then
  echo "check-format: not formatted (run clang-format -i on them):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
