#!/usr/bin/env bash
# Submits a sharded characterization to Slurm: a job array of SHARDS tasks (one per shard, requeued
# on node failure) and a merge job that starts when every task has succeeded.
#
#   scripts/slurm/submit.sh RECIPE OUT SHARDS [sbatch options...]
#   e.g. scripts/slurm/submit.sh characterization/array_ps_7nm.toml /shared/results/array_ps 16 \
#            --partition=cpu --cpus-per-task=4 --time=02:00:00
#
# Prints the array job id and the merge job id. Paths are made absolute (tasks run elsewhere).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: submit.sh RECIPE OUT SHARDS [sbatch options...]" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe="$(realpath "$1")"
out="$(realpath -m "$2")"
shards=$3
shift 3
case "$shards" in
  '' | *[!0-9]*) echo "submit.sh: SHARDS must be a positive integer, got '$shards'" >&2; exit 2 ;;
esac
if [ "$shards" -lt 1 ]; then echo "submit.sh: SHARDS must be >= 1" >&2; exit 2; fi
if [ -z "${XBARKIT:-}" ]; then
  if [ -x "$here/../../build/xbarkit" ]; then XBARKIT="$(realpath "$here/../../build/xbarkit")"; else XBARKIT=xbarkit; fi
fi
export XBARKIT
mkdir -p "$(dirname "$out")"
array=$(sbatch --parsable --export=ALL --array="0-$((shards - 1))" "$@" "$here/characterize.sbatch" "$recipe" "$out")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
          --job-name=xbarkit-merge --output="xbarkit-merge-%j.out" "$@" "$here/characterize.sbatch" --merge "$recipe" "$out")
merge=${merge%%;*}
echo "array job $array ($shards shards), merge job $merge -> $out"
