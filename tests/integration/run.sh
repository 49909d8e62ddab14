#!/usr/bin/env bash
# Integration suite: starts the real paved daemon (PAVED_BIN) on 127.0.0.1
# ports chosen at run time and talks HTTP to it with Node's test runner.
# Usage: PAVED_BIN=build/paved tests/integration/run.sh [test files...]
# Works from any directory and in CI (no stdin); never touches build dirs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ -z "${PAVED_BIN:-}" ]; then
    echo "run.sh: set PAVED_BIN to the paved binary" >&2
    exit 2
fi
case "$PAVED_BIN" in
/*) ;;
*) PAVED_BIN="$PWD/$PAVED_BIN" ;;
esac
if [ ! -x "$PAVED_BIN" ]; then
    echo "run.sh: PAVED_BIN=$PAVED_BIN is not an executable file" >&2
    exit 2
fi
export PAVED_BIN

shared="${PAVED_SHARED_DIR:-$root/../shared}"
if [ ! -d "$shared/corpus" ]; then
    echo "run.sh: shared fixtures not found at $shared (set PAVED_SHARED_DIR)" >&2
    exit 2
fi
PAVED_SHARED_DIR="$(cd "$shared" && pwd)"
export PAVED_SHARED_DIR

for tool in node npm sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "run.sh: $tool not found (scripts/deps.sh test installs it)" >&2
        exit 2
    }
done

cd "$here"
# npm writes node_modules/.package-lock.json on every install: a stamp that
# is older than package-lock.json means the lock changed since.
if [ ! -f node_modules/.package-lock.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund </dev/null
fi

if [ "$#" -gt 0 ]; then
    files=("$@")
else
    files=(./*.test.js)
fi
set +e
node --test --test-concurrency=1 --test-reporter=spec "${files[@]}" </dev/null
status=$?
set -e
exit "$status"
