#!/usr/bin/env bash
# The system packages Tide's tests and rig need on a Debian/Ubuntu machine: git (the Git server's
# http-backend and git-shell), openssh (sshd and ssh-keygen for SSH sources), python3-venv (moto),
# qemu-user-static (runs the arm64 tide-kustomize of the Lambda layer in the CDK test).
# Go >= 1.25 builds the Kubernetes control plane.
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go >= 1.25 is needed to build the test rig's kube-apiserver (https://go.dev/doc/install)" >&2; exit 1; }
echo "system dependencies present" >&2
