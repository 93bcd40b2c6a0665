#!/usr/bin/env bash
# Installs the Debian packages UniRL links against (idempotent: does nothing when present).
set -euo pipefail
packages=(libopenblas-dev libpng-dev libturbojpeg0-dev pkg-config)
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas libpng libturbojpeg; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing ${packages[*]} ..." >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
