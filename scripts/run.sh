#!/usr/bin/env bash
# The main job on built-in defaults (installs and builds what is missing first).
# Extra arguments go to `xbarkit run`, e.g. scripts/run.sh --help.
set -euo pipefail
# Only what the main job runs is built: the CLI and the Python package of its figures (not the tests
# and not the libtorch trainer, whose translation units are the slowest to compile).
XBARKIT_BUILD_TARGETS="${XBARKIT_BUILD_TARGETS:-xbarkit_cli _xbarkit}"
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
exec "$BUILD_DIR/xbarkit" run "$@"
