#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries are on this machine, for the tests that run the gateway
# on PostgreSQL. The tests start and stop their own private server on loopback.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "PostgreSQL is not installed and this user cannot install it: its tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
