#!/usr/bin/env bash
# Browser tests of the web interface: builds the kyojo binary, installs
# Debian's chromium and playwright-core if missing, and runs browser.mjs
# against a real `kyojo serve --demo`. Screenshots go to docs/screenshots/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-noto-cjk
fi
(cd "$root" && cargo build -q -p kyojo)
cd "$here"
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent
KYOJO_BIN="${KYOJO_BIN:-$root/target/debug/kyojo}" \
KYOJO_SCREENSHOTS="${KYOJO_SCREENSHOTS:-$root/docs/screenshots}" \
  node browser.mjs
