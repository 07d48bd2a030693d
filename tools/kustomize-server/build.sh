#!/usr/bin/env bash
# Builds tide-kustomize (this directory) once per source version, into
#   ${TIDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide}/tide-kustomize/<digest>/tide-kustomize
# where <digest> is the sha256 of go.mod, go.sum and the .go files (shared/tools/binaries.ts
# computes the same to find it). Prints the binary's path.
#
# Usage: tools/kustomize-server/build.sh [--arch amd64|arm64] [--out DIR]
#   --out DIR builds into DIR instead (the CDK layer's bundling uses it, with --arch arm64).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
arch="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
digest="$(cd "$here" && cat go.mod go.sum $(ls *.go | grep -v _test.go | sort) | sha256sum | cut -c1-16)"
cache="${TIDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide}"
if [ -z "$out" ]; then
  [ -z "$arch" ] || { echo "--arch needs --out" >&2; exit 2; }
  out="$cache/tide-kustomize/$digest"
  if [ -x "$out/tide-kustomize" ]; then echo "$out/tide-kustomize"; exit 0; fi
fi
command -v go >/dev/null || { echo "tide-kustomize: go is not installed; install Go >= 1.24 and retry: $0" >&2; exit 1; }
mkdir -p "$out"
printf 'tide-kustomize: building %s (first time only, about a minute)\n' "$digest" >&2
export CGO_ENABLED=0 GOOS=linux GOFLAGS="${GOFLAGS:--buildvcs=false}"
[ -z "$arch" ] || export GOARCH="$arch"
(cd "$here" && go build -trimpath -ldflags=-s -o "$out/tide-kustomize.tmp" .)
mv "$out/tide-kustomize.tmp" "$out/tide-kustomize"
echo "$out/tide-kustomize"
