#!/usr/bin/env bash
# The whole test suite (installs and builds what is missing first). Extra arguments go to ctest,
# e.g. scripts/test.sh -R netlist.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"
cd "$BUILD_DIR"
exec ctest --output-on-failure -j "$jobs" "$@"
