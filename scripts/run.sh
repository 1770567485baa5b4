#!/usr/bin/env bash
# The main job on built-in defaults (installs and builds what is missing first).
# Extra arguments go to `xbarkit run`, e.g. scripts/run.sh --help.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
exec "$BUILD_DIR/xbarkit" run "$@"
