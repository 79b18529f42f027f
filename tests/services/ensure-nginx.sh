#!/usr/bin/env bash
# Make sure nginx is on this machine, for tests/test_nginx.py, which runs deploy/nginx.conf in
# front of a gateway. The test starts and stops its own nginx on loopback, and never uses the
# service the package may start (where an init system runs one).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "nginx is not installed and this user cannot install it: its tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq nginx >/dev/null
