#!/usr/bin/env bash
# Installs moto's server (S3, EventBridge, SQS, Secrets Manager, STS) into a cached virtualenv.
# Prints the path of moto_server. Reused when already installed at the pinned version.
set -euo pipefail
MOTO_VERSION="${TIDE_MOTO_VERSION:-5.2.5}"
CACHE="${TIDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tide}"
VENV="$CACHE/venv-moto-$MOTO_VERSION"
if [ ! -x "$VENV/bin/moto_server" ]; then
  echo "rig install: moto[server]==$MOTO_VERSION into $VENV" >&2
  python3 -m venv "$VENV" || { echo "rig install: python3 -m venv failed (apt-get install python3-venv); retry: $0" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || { echo "rig install: pip install moto[server]==$MOTO_VERSION failed; retry: $0" >&2; exit 1; }
fi
echo "$VENV/bin/moto_server"
