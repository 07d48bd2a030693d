#!/usr/bin/env bash
# Builds the real Kubernetes control plane the test rig runs (kube-apiserver, kube-controller-manager)
# and etcd, from the Go module proxy, once per machine. Binaries are cached under
#   ${TIDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide}/bin/
# and reused on later runs. When KUBEBUILDER_ASSETS names a directory holding all three binaries
# that directory is used instead and nothing is built.
#
# Usage: test/rig/build-binaries.sh            (prints the directory holding the binaries)
set -euo pipefail

K8S_VERSION="${TIDE_K8S_VERSION:-v1.35.4}"
ETCD_VERSION="${TIDE_ETCD_VERSION:-v3.6.16}"
CACHE="${TIDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide}"
OUT="$CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
STAGING_VERSION="v0${K8S_VERSION#v1}"   # v1.35.4 -> v0.35.4

log() { printf 'rig build: %s\n' "$*" >&2; }

if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] \
   && [ -x "$KUBEBUILDER_ASSETS/etcd" ] && [ -x "$KUBEBUILDER_ASSETS/kube-controller-manager" ]; then
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kube-controller-manager" ] && [ -x "$OUT/etcd" ]; then
  echo "$OUT"; exit 0
fi

command -v go >/dev/null || { log "go is not installed; install Go >= 1.25 and retry: $0"; exit 1; }
mkdir -p "$OUT"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

build_k8s() {
  local work="$CACHE/build/k8s-$K8S_VERSION"
  mkdir -p "$work"
  cd "$work"
  if [ ! -f go.mod ]; then
    log "fetching k8s.io/kubernetes $K8S_VERSION from the Go module proxy"
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    local src; src=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    # k8s.io/kubernetes points its staging modules at ./staging; outside its tree they must be
    # pinned to their published versions with replace lines.
    local staging; staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$src/go.mod")
    {
      echo "module tide.local/rigbuild"
      echo
      echo "go 1.25.0"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      for m in $staging; do echo "	$m => $m $STAGING_VERSION"; done
      echo ")"
    } > go.mod.tmp
    cat > tools.go <<'GO'
//go:build tools

package rigbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
GO
    mv go.mod.tmp go.mod
    go mod tidy -e >/dev/null 2>tidy.log || { log "go mod tidy failed for kube-apiserver (see $work/tidy.log); retry: $0"; cat tidy.log >&2; exit 1; }
  fi
  for bin in kube-apiserver kube-controller-manager; do
    if [ ! -x "$OUT/$bin" ]; then
      log "building $bin $K8S_VERSION (first time only; several minutes)"
      go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#v1.}" \
        -o "$OUT/$bin.tmp" "k8s.io/kubernetes/cmd/$bin" \
        || { log "go build of $bin failed; retry: $0"; exit 1; }
      mv "$OUT/$bin.tmp" "$OUT/$bin"
    fi
  done
}

build_etcd() {
  [ -x "$OUT/etcd" ] && return 0
  local work="$CACHE/build/etcd-$ETCD_VERSION"
  mkdir -p "$work"
  cd "$work"
  if [ ! -f go.mod ]; then
    printf 'module tide.local/etcdbuild\n\ngo 1.25.0\n' > go.mod
    cat > tools.go <<'GO'
//go:build tools

package etcdbuild

import _ "go.etcd.io/etcd/server/v3"
GO
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>get.log || { log "go get etcd $ETCD_VERSION failed (see $work/get.log); retry: $0"; exit 1; }
    go mod tidy -e >/dev/null 2>tidy.log || true
  fi
  log "building etcd $ETCD_VERSION (first time only)"
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 \
    || { log "go build of etcd failed; retry: $0"; exit 1; }
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

( build_etcd )
( build_k8s )
echo "$OUT"
