#!/usr/bin/env bash
# Starts a single-node Slurm on this machine (as root: munged, slurmctld, slurmd with a minimal
# slurm.conf: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, one node with this machine's
# CPUs), submits scripts/slurm/submit.sh's job array (3 shards) and dependent merge, checks the merged
# bundle against a local run byte for byte, and stops every daemon it started by its pid. Exits 77
# (CTest: skipped) with the reason when Slurm cannot start here.
set -uo pipefail
XBARKIT=$1
SRC=$2
skip() { echo "SKIPPED: $*"; cleanup; exit 77; }
fail() { echo "FAILED: $*"; dump_logs; cleanup; exit 1; }

T=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
  [ -n "$T" ] && rm -rf "$T"
}
dump_logs() { for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done; }
trap 'cleanup' EXIT

[ "$(id -u)" -eq 0 ] || skip "not root (the test starts slurmctld, slurmd and munged itself)"
for c in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$c" >/dev/null || skip "$c is not installed (Debian packages slurmctld slurmd munge slurm-client)"
done
T=$(mktemp -d /tmp/xbarkit_slurm.XXXXXX)

# munge: a private key, socket and daemon (--force: it refuses root and loose permissions otherwise).
mkdir -p "$T/munge" "$T/sock" && chmod 700 "$T/munge" && chmod 755 "$T" "$T/sock"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$T/munge/munge.key"
munged --force --foreground --key-file="$T/munge/munge.key" --socket="$T/sock/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/seed" >> "$T/munged.log" 2>&1 &
pids+=($!)

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
port=$((20000 + RANDOM % 20000))
mkdir -p "$T/state" "$T/spool"
# Both daemons on the loopback address: the test needs no name resolution of this host (a container
# or chroot often has no /etc/hosts entry for its hostname, and slurmd then never registers).
cat > "$T/slurm.conf" <<CONF
ClusterName=xbarkittest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$T/sock/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
for _ in $(seq 50); do [ -S "$T/sock/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/sock/munge.sock" ] || skip "munged did not start ($(tail -n 3 "$T/munged.log" 2>/dev/null))"

slurmctld -D -i -f "$T/slurm.conf" >> "$T/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$T/slurm.conf" -N "$host" >> "$T/slurmd.log" 2>&1 &
pids+=($!)
ready=0
up_deadline=$((SECONDS + 30))
while ((SECONDS < up_deadline)); do
  state=$(timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -n 1)
  case "$state" in idle | mixed | allocated) ready=1; break ;; esac
  sleep 0.2
done
[ "$ready" = 1 ] || skip "single-node Slurm did not come up in 30 s (node state '${state:-none}'): $(tail -n 5 "$T/slurmctld.log" "$T/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "Slurm up: node $host, $cpus CPUs, port $port"

# 12 points of a 16-row native array_ps sweep: seconds per shard.
cat > "$T/r.toml" <<'RECIPE'
[characterize]
kind = "array_ps"
seed = 7
threads = 1
[array_ps]
cells = ["sram8t"]
rows = [16]
patterns = 20
holdout_patterns = 4
patterns_per_point = 2
RECIPE
mkdir -p "$T/jobs"
cd "$T/jobs" || fail "no job directory"
line=$(XBARKIT="$XBARKIT" "$SRC/scripts/slurm/submit.sh" "$T/r.toml" "$T/sharded" 3 --cpus-per-task=1) || fail "submit.sh: $line"
echo "$line"
array=$(echo "$line" | sed -n 's/^array job \([0-9]*\) .*/\1/p')
merge=$(echo "$line" | sed -n 's/.*merge job \([0-9]*\) .*/\1/p')
[ -n "$array" ] && [ -n "$merge" ] || fail "could not read the job ids from: $line"

wait_done() {  # a deadline in wall time: one scontrol call can itself wait seconds on a daemon that hangs
  local deadline=$((SECONDS + 120)) s=""
  while ((SECONDS < deadline)); do
    s=$(timeout 10 scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1)
    case "$s" in COMPLETED) return 0 ;; FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) echo "job $1: $s"; return 1 ;; esac
    sleep 0.2
  done
  echo "job $1: still ${s:-unknown} after 120 s"
  return 1
}
wait_done "$merge" || { cat "$T"/jobs/*.out 2>/dev/null; fail "the merge job did not complete"; }
cat "$T"/jobs/xbarkit-merge-*.out
for i in 0 1 2; do
  grep -q "shard $i/3" "$T"/jobs/xbarkit-xbarkit-characterize-"${array}"_"$i".out || fail "task $i did not run shard $i/3"
done

"$XBARKIT" characterize "$T/r.toml" -o "$T/local" --no-progress > /dev/null || fail "local run failed"
n=0
for f in "$T"/local/tables/*.csv "$T/local/journal.jsonl"; do
  rel=${f#"$T/local/"}
  cmp -s "$f" "$T/sharded/$rel" || fail "$rel differs between the Slurm-merged bundle and the local run"
  n=$((n + 1))
done
"$XBARKIT" lut check "$T/sharded" > /dev/null || fail "lut check of the merged bundle failed"
echo "merged bundle equals the local run: $n files byte-identical"

# Stop every daemon we started (by pid), and check none is left.
started=("${pids[@]}")
cleanup
for pid in "${started[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then echo "FAILED: daemon pid $pid still running"; exit 1; fi
done
echo "PASSED: Slurm array of 3 shards + dependent merge; daemons ${started[*]} stopped"
trap - EXIT
exit 0
