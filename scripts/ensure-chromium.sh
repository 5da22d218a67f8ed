#!/usr/bin/env bash
# Runs before `npm test`: the conformance HTML report test drives Debian's Chromium
# (/usr/bin/chromium). Browser downloads are not possible here, so the distribution's
# package is used; installed when missing and apt-get is at hand as root.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "ensure-chromium: installing Debian's chromium package for the HTML report test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  /usr/bin/chromium --version
else
  echo "ensure-chromium: /usr/bin/chromium is missing; install your distribution's chromium package" \
    "(the HTML report test needs it)" >&2
fi
