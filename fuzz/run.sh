#!/usr/bin/env bash
# Build every fuzz target, then run each for SECONDS (default 60) against a
# copy of its committed seed corpus (so the seeds don't churn), one after
# the other, one process each, niced. Fails on the first crash (a panic, an
# input slower than 30 s, or over 4 GiB of memory); the input is left under
# fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable
# toolchain, RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags. Targets
# are built optimized with debug assertions and overflow checks (cargo-fuzz's
# default) but without a sanitizer (`-s none`): the crates have no unsafe
# code, so AddressSanitizer would only halve the speed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build -s none
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  cp fuzz/seeds/"$t"/* "$work/$t"/ 2>/dev/null || true
  echo "== fuzz $t for ${secs}s"
  log="$work/$t.log"
  if ! nice -n 19 cargo fuzz run -s none "$t" "$work/$t" -- \
      -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $t: FAILED (input under fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  { grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true; } | tr '\n' ' '
  echo "corpus: $(ls "$work/$t" | wc -l) inputs"
done
echo "== fuzz: ${#targets[@]} targets, no crash"
