#!/usr/bin/env bash
# Install the Debian packages the test suite drives (openssl, curl, haproxy) when they are
# missing. Runs before `npm test`; does nothing when everything is present or apt is unavailable.
set -u
missing=()
for pair in openssl:openssl curl:curl haproxy:haproxy; do
  cmd="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-test-deps: missing ${missing[*]} and no apt-get here; the tests that need them will skip" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
echo "setup-test-deps: installing ${missing[*]} with apt-get" >&2
$SUDO apt-get update -qq >/dev/null 2>&1 || true
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || echo "setup-test-deps: could not install ${missing[*]}; the tests that need them will skip" >&2
exit 0
