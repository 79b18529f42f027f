#!/usr/bin/env bash
# Make sure Debian's Chromium is on this machine, for tests/test_console_browser.py, which
# drives it headless with Playwright (browsers cannot be downloaded by Playwright here).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is not installed and this user cannot install it: the browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
