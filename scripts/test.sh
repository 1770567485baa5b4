#!/usr/bin/env bash
# The whole test suite (installs and builds what is missing first). Extra arguments go to ctest,
# e.g. scripts/test.sh -R netlist.
set -euo pipefail
unset XBARKIT_MAIN_JOB_ONLY  # the tests need everything configured and built
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
cd "$BUILD_DIR"
# libtorch's OpenMP workers spin while waiting by default, which starves the other tests ctest runs
# beside them on a small machine (two trainer tests then hit their 120 s timeout). libgomp reads this
# when it loads, so it has to be in the environment already; CMake's per-test ENVIRONMENT cannot
# carry it next to XBARKIT_SOURCE_DIR (catch_discover_tests splits the list).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# --no-tests=error: a build directory without tests is a failure, never an empty pass.
exec ctest --output-on-failure --no-tests=error -j "$jobs" "$@"
