#!/usr/bin/env bash
# Installs missing Debian packages, then configures and builds xbarkit (Release) in ./build.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run again (only what is missing is done).
# scripts/run.sh builds only what the main job runs (the command-line tool);
# scripts/test.sh builds everything, tests and the libtorch trainer included.
set -euo pipefail
XBARKIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${XBARKIT_BUILD_DIR:-$XBARKIT_ROOT/build}"

# XBARKIT_MAIN_JOB_ONLY=1 (set by scripts/run.sh): only the main job's tool; anything else: everything.
main_job_only=OFF
case "${XBARKIT_MAIN_JOB_ONLY:-}" in 1 | ON | on | TRUE | true | YES | yes) main_job_only=ON ;; esac

# What the main job needs (scripts/run.sh): the compiler, the command-line tool's libraries, the
# dataset and matplotlib for its figures.
packages=(build-essential cmake ninja-build pkg-config libngspice0-dev ngspice libeigen3-dev libboost-dev
          libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libfmt-dev zlib1g-dev dataset-fashion-mnist
          python3-matplotlib)
# Everything else (scripts/test.sh and a plain scripts/setup.sh): the tests, the libtorch trainer, the
# Python extension and Slurm (scripts/slurm and tests/slurm). From an empty system, the first list is
# about half the packages and the download of both (docs/PERFORMANCE.md).
if [ "$main_job_only" = OFF ]; then
  packages+=(catch2 libtorch-dev libopenblas0-openmp python3-dev pybind11-dev python3-numpy python3-pytest python3-torch
             slurmctld slurmd slurm-client munge)
fi
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
# In main-job mode a new build directory gets only the command-line tool (CMake option
# XBARKIT_MAIN_JOB_ONLY); otherwise everything is configured, including in a build directory
# scripts/run.sh made before (re-configured now that its packages are installed).
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # Ninja compiles the object files of different modules concurrently (Make waits for each module's
  # dependencies to finish first), which keeps both cores busy with the modules' few unity batches.
  cmake -S "$XBARKIT_ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DXBARKIT_MAIN_JOB_ONLY=$main_job_only >&2
elif [ "$main_job_only" = OFF ] && grep -qiE "^XBARKIT_MAIN_JOB_ONLY:BOOL=(ON|1|TRUE|YES|Y)$" "$BUILD_DIR/CMakeCache.txt"; then
  cmake -S "$XBARKIT_ROOT" -B "$BUILD_DIR" -DXBARKIT_MAIN_JOB_ONLY=OFF >&2
fi
targets=()
[ "$main_job_only" = ON ] && targets=(--target xbarkit_cli)
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
