#!/usr/bin/env bash
# Installs missing Debian packages, then configures and builds xbarkit (Release) in ./build.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again (only what is missing is done).
# scripts/run.sh builds only what the main job runs (the CLI and the Python package its figures use);
# scripts/test.sh builds everything, tests and the libtorch trainer included.
set -euo pipefail
XBARKIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${XBARKIT_BUILD_DIR:-$XBARKIT_ROOT/build}"

packages=(build-essential cmake pkg-config libngspice0-dev ngspice libeigen3-dev libboost-dev catch2
          libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev dataset-fashion-mnist
          libtorch-dev libopenblas0-openmp python3-dev pybind11-dev python3-numpy python3-pytest python3-matplotlib python3-torch
          slurmctld slurmd slurm-client munge)  # Slurm: scripts/slurm and its test (tests/slurm)
# libtorch (training) takes BLAS from the libblas.so.3 alternative; without OpenBLAS that is the
# reference BLAS, about 10x slower for the dense layers (docs/PERFORMANCE.md).
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "xbarkit: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >&2
fi

jobs="$(nproc 2>/dev/null || echo 2)"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$XBARKIT_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >&2
fi
# XBARKIT_BUILD_TARGETS (set by scripts/run.sh): build only these targets; default: everything.
# A target the configuration left out (the Python package without python3-dev/pybind11-dev) is skipped.
targets=()
if [ -n "${XBARKIT_BUILD_TARGETS:-}" ]; then
  available="$(cmake --build "$BUILD_DIR" --target help 2>/dev/null || true)"
  for t in $XBARKIT_BUILD_TARGETS; do
    if grep -qE "(^|[ .])$t( |$)" <<<"$available"; then targets+=(--target "$t"); fi
  done
  ((${#targets[@]})) || targets=(--target all)
fi
cmake --build "$BUILD_DIR" -j "$jobs" "${targets[@]}" >&2

# The Python package: BUILD/python on the path of Debian's /usr/bin/python3 through a .pth file in
# its site-packages, so `python3 -c 'import xbarkit'` works from any directory (the last build set
# up wins; CTest sets PYTHONPATH itself).
if [ -d "$BUILD_DIR/python/xbarkit" ] && [ -x /usr/bin/python3 ]; then
  site="$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')"
  pth="$site/xbarkit.pth"
  if [ "$(cat "$pth" 2>/dev/null)" != "$BUILD_DIR/python" ]; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" mkdir -p "$site"
    echo "$BUILD_DIR/python" | "${sudo_cmd[@]}" tee "$pth" >/dev/null
    echo "xbarkit: /usr/bin/python3 imports xbarkit from $BUILD_DIR/python ($pth)" >&2
  fi
fi
