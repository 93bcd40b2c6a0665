#!/usr/bin/env bash
# Installs the Debian packages UniRL links against (idempotent: does nothing when present).
# Open MPI (libopenmpi-dev, openmpi-bin) is for the optional `MPI` package trait and `mpirun -np N unirl train`;
# the default build does not need it. UNIRL_SKIP_MPI=1 leaves it out.
set -euo pipefail
packages=(libopenblas-dev libpng-dev libturbojpeg0-dev pkg-config)
checks=(openblas libpng libturbojpeg)
if [ "${UNIRL_SKIP_MPI:-0}" != "1" ]; then
    packages+=(libopenmpi-dev openmpi-bin)
    checks+=(ompi)
fi
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${checks[@]}" \
    && { [ "${UNIRL_SKIP_MPI:-0}" = "1" ] || command -v mpirun >/dev/null 2>&1; }; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "Installing ${packages[*]} ..." >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
