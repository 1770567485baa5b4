#!/usr/bin/env bash
# The main job on built-in defaults (installs and builds what is missing first).
# Extra arguments go to `xbarkit run`, e.g. scripts/run.sh --help.
set -euo pipefail
# Only what the main job runs is built: the command-line tool. Not the tests, not the libtorch trainer
# (xbarkit-train, the slowest translation units; the main job's trained network is shipped) and not
# the Python extension (the figures read the report's JSON with matplotlib alone).
# A build directory made here is configured for the tool alone (CMake option XBARKIT_MAIN_JOB_ONLY),
# so the packages of the rest are not installed either; scripts/test.sh adds them.
export XBARKIT_MAIN_JOB_ONLY=1
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
exec "$BUILD_DIR/xbarkit" run "$@"
