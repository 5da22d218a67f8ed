#!/usr/bin/env bash
# House rule: no source line over 120 characters. eslint's max-len checks TypeScript and
# JavaScript; this checks the rest of the sources git knows (Go, Lua, shell), as `npm run lint` does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
long=$(git ls-files -co --exclude-standard -- '*.go' '*.lua' '*.sh' .ci/run |
  xargs -r awk 'length > 120 { printf "%s:%d: %d characters\n", FILENAME, FNR, length }')
if [ -n "$long" ]; then
  printf 'line-length: lines over 120 characters (the house rule in CONTRIBUTING.md):\n%s\n' "$long" >&2
  exit 1
fi
