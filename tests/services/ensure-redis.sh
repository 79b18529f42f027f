#!/usr/bin/env bash
# Make sure redis-server is on this machine, for the tests that keep rate limits in Redis
# (`REDIS_URL`). The tests start and stop their own private server on loopback.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "redis-server is not installed and this user cannot install it: its tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq redis-server >/dev/null
