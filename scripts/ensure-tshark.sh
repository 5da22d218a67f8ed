#!/usr/bin/env bash
# Runs before the wireshark package's tests: they read the suite's captures with Debian's tshark
# (4.0, Lua 5.2) and check the dissector's Lua ciphers with lua5.2. Installed when missing and
# apt-get is at hand as root, the way ensure-chromium.sh installs chromium.
set -euo pipefail
missing=()
command -v tshark >/dev/null || missing+=(tshark)
command -v lua5.2 >/dev/null || missing+=(lua5.2)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "ensure-tshark: installing Debian's ${missing[*]} for the dissector tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  tshark --version | head -1
else
  echo "ensure-tshark: ${missing[*]} missing; install your distribution's tshark and lua5.2 packages" \
    "(the dissector tests need them)" >&2
fi
