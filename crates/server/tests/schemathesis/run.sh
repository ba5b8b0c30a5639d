#!/usr/bin/env bash
# The OpenAPI conformance tier: `kyojo serve --demo` on an ephemeral loopback
# port with a fresh data directory, then schemathesis generates requests
# for every operation of /api/v1/openapi.json (as the demo admin, then as
# the public) and checks that no answer is a server error, every status is
# documented, and every JSON body matches its schema. Any failure fails the
# run.
#
#   bash crates/server/tests/schemathesis/run.sh            # from the repository root
#   KYOJO_SCHEMATHESIS_EXAMPLES=200 bash crates/server/tests/schemathesis/run.sh
#
# Needs `schemathesis` (requirements.txt beside this file) and builds the
# debug `kyojo` binary if it is not there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
kyojo="$target/debug/kyojo"
examples="${KYOJO_SCHEMATHESIS_EXAMPLES:-100}"
seed="${KYOJO_SCHEMATHESIS_SEED:-20261201}"

pinned="$(sed -n 's/^schemathesis==//p' "$here/requirements.txt")"
if ! schemathesis --version 2>/dev/null | grep -qF "version $pinned"; then
  python3 -m pip install -q -r "$here/requirements.txt"
fi
cargo build -q -p kyojo

work="$(mktemp -d)"
server_pid=""
drain_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$drain_pid" ] && kill "$drain_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Generated requests come fast from one address and one token: lift the
# rate limits so that they test the handlers, not the limiter.
mkdir -m 700 "$work/data"
cat > "$work/data/kyojo.toml" <<'TOML'
rate_limit_per_second = 100000.0
rate_limit_burst = 100000.0
TOML

# The server prints its address, then the demo tokens, on stdout: read them
# as they come (no sleeping), then keep draining so it never blocks.
mkfifo "$work/stdout"
NO_COLOR=1 "$kyojo" serve --demo --listen 127.0.0.1:0 --data "$work/data" \
  >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/stdout"
base="" token=""
while IFS= read -r -t 300 line <&3; do
  case "$line" in
    "kyojo is ready at "*) base="${line#kyojo is ready at }"; base="${base%%/ *}"; base="${base%/}" ;;
    "admin token:"*) token="${line##* }"; break ;;
  esac
done
if [ -z "$base" ] || [ -z "$token" ]; then
  echo "kyojo serve --demo never printed its address and admin token" >&2
  cat "$work/server.log" >&2
  exit 1
fi
cat <&3 >/dev/null &
drain_pid=$!
echo "kyojo at $base; schemathesis: $examples examples per operation, seed $seed"

status=0
# From the scratch directory: schemathesis keeps caches in the working directory.
cd "$work"
# One pass as the demo admin (every operation reaches its handler), then a
# shorter one as the public (no token: what an anonymous caller is told).
run() {
  schemathesis run "$base/api/v1/openapi.json" "$@" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --seed "$seed" \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --generation-database none \
    --no-color
}
echo "== as the demo admin"
run --header "Authorization: Bearer $token" --max-examples "$examples" \
  --report junit --report-dir "$work/report-admin" || status=$?
echo "== as the public"
run --max-examples "$(( (examples + 3) / 4 ))" \
  --report junit --report-dir "$work/report-public" || status=$?

if [ "$status" -ne 0 ]; then
  echo "== server log (last 60 lines)" >&2
  tail -n 60 "$work/server.log" >&2
fi
if grep -q 'status=5[0-9][0-9]' "$work/server.log"; then
  echo "the server answered 5xx:" >&2
  grep 'status=5[0-9][0-9]' "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"
