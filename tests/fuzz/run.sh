#!/bin/sh
# Runs every libFuzzer target in a -DPAVED_FUZZ=ON build for a while.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS
# Each fuzz_<name> binary starts from a scratch copy of the committed seeds
# in tests/fuzz/corpus/<name>/ (the committed corpus is never written), and
# the script fails if any target finds a crash, leak or timeout. Never
# builds anything: configure with CC=clang -DPAVED_FUZZ=ON first.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
secs=$2
here=$(cd "$(dirname "$0")" && pwd)
case $secs in
'' | *[!0-9]*)
    echo "run.sh: SECONDS must be a whole number" >&2
    exit 2
    ;;
esac
if [ ! -d "$build" ]; then
    echo "run.sh: no build directory $build" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
work=$build/fuzz-work

found=0
failed=""
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    seeds=$here/corpus/${name#fuzz_}
    dir=$work/$name
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    if [ -d "$seeds" ]; then
        cp "$seeds"/* "$dir/corpus/" 2>/dev/null || true
    fi
    found=$((found + 1))
    echo "== $name for ${secs}s (seeds: $(ls "$dir/corpus" | wc -l))"
    if ! "$bin" "$dir/corpus" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1; then
        echo "!! $name failed; artifacts in $dir/artifacts, log $dir/log"
        tail -n 40 "$dir/log"
        failed="$failed $name"
        continue
    fi
    if ls "$dir/artifacts" | grep -q .; then
        echo "!! $name left artifacts in $dir/artifacts"
        failed="$failed $name"
        continue
    fi
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' \
        "$dir/log" || true
done

if [ "$found" -eq 0 ]; then
    echo "run.sh: no fuzz_* binaries in $build (configure with" \
        "CC=clang -DPAVED_FUZZ=ON)" >&2
    exit 2
fi
if [ -n "$failed" ]; then
    echo "run.sh: failed:$failed" >&2
    exit 1
fi
echo "run.sh: $found targets ran ${secs}s each without a crash"
