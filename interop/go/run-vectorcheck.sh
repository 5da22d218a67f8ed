#!/usr/bin/env bash
# Builds the Go vector checker against the Go original and runs it on vectors/data
# (or on the directory given as the first argument).
# Ends with the line "go-vectors: N checked, F failed" and fails when F > 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# The checksum database reachable here has no record of qotp v0.2.18 (404); go.sum,
# committed, pins the module's hash instead.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/qo-proto/qotp"

# The linker checks no types behind go:linkname: compare the declarations with the qotp
# source this module builds with first, so a changed signature stops here.
go test -count=1 ./internal/qotpx

mkdir -p bin
# -checklinkname=0: the checker binds to qotp's unexported functions (see internal/qotpx).
go build -ldflags=-checklinkname=0 -o bin/vectorcheck ./cmd/vectorcheck
exec bin/vectorcheck "${1:-$here/../../vectors/data}"
