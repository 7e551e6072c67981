#!/usr/bin/env bash
# The benchmark suite: the same fio workloads (fio's rbd engine) on Ceph's librbd and on
# SwiftRBD (the same fio binary, SwiftRBD's C ABI through LD_LIBRARY_PATH), interleaved
# and repeated, plus the micro-benchmarks; writes Docs/BENCHMARKS.md, its plots and the
# raw results (Docs/bench/results.csv, results.json).
#   make bench        (or: bash scripts/bench.sh)
# Without CEPH_CONF it installs what it needs and starts a throwaway cluster in
# .cluster-bench (stopped after). Knobs: ROUNDS (3; the median is reported), RUNTIME
# (seconds per fio run, 2), MODES ("crc secure"), QUICK=1 (one mode, no scaling runs:
# a smoke test of the script itself), OUT (Docs), TOOL_TOTAL (bytes per rbd bench /
# rbdctl bench run, 128M).
#
# Each round also runs `rbd bench` beside `rbdctl bench` (4 KiB random read and write,
# 16 in flight, crc). Each fio run is one fio process with one job (thread=1, so the
# client is one process):
# IOPS, MB/s and completion-latency percentiles come from fio's JSON; CPU seconds, peak RSS
# from /usr/bin/time; the thread count is sampled from /proc while it runs. fio's own
# share (its main thread and job thread, measured with the null engine) is the same on
# both sides and is reported, not subtracted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=/opt/swift/usr/bin:$PATH
ROUNDS=${ROUNDS:-3}
RUNTIME=${RUNTIME:-2}
MODES=${MODES:-crc secure}
OUT=${OUT:-Docs}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then MODES=crc; ROUNDS=1; fi
started_at=$(date +%s)

IMAGE=${IMAGE:-rbd/swiftrbd-suite-$$}
# shellcheck source=support/bench-cluster.sh
source scripts/support/bench-cluster.sh
missing=()
command -v fio >/dev/null || missing+=(fio)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
[ -x /usr/bin/time ] || missing+=(time)
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "bench: building (release)" >&2
swift build -c release --product rbdctl >/dev/null
swift build -c release --product Microbench >/dev/null
swift build -c release --product swiftrbd >/dev/null
bin=$(swift build -c release --show-bin-path)
libs=$PWD/.build/c-libs-release
mkdir -p "$libs"
ln -sfn "$bin/libswiftrbd.so" "$libs/libswiftrbd.so"
ln -sfn libswiftrbd.so "$libs/librbd.so.1"
ln -sfn libswiftrbd.so "$libs/librados.so.2"

work=$(mktemp -d)
trap 'rm -rf "$work"; bench_finish' EXIT
results=$work/results.csv
echo "workload,group,mode,cache,rw,bs,iodepth,jobs,client,round,iops,mbps,p50_us,p99_us,p999_us,cpu_s,ios,cpu_us_per_io,rss_kb,threads" > "$results"

# One image for every run, filled so that reads find data.
rbd create "$IMAGE" --size 1G
rbd bench --io-type write --io-size 4M --io-threads 16 --io-total 1G --io-pattern seq "$IMAGE" --rbd_cache=false >/dev/null
pool=${IMAGE%%/*}; name=${IMAGE#*/}

conf_for() { # MODE CACHE -> a ceph.conf with the client options set
  local file=$work/ceph-$1-$2.conf
  if [ ! -e "$file" ]; then
    cp "$CEPH_CONF" "$file"
    printf '\n[client]\nms_client_mode = %s\nrbd_cache = %s\nrbd_cache_writethrough_until_flush = false\n' \
      "$1" "$([ "$2" = on ] && echo true || echo false)" >> "$file"
  fi
  echo "$file"
}

# Samples the thread count of process PID until it ends; prints the largest.
max_threads() {
  local pid=$1 most=0 now
  while kill -0 "$pid" 2>/dev/null; do
    for task in /proc/"$pid"/task /proc/"$(pgrep -P "$pid" | head -1)"/task; do
      [ -d "$task" ] || continue
      now=$(find "$task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
      [ "$now" -gt "$most" ] && most=$now
    done
    sleep 0.1
  done
  echo "$most"
}

# measure COMMAND...: runs COMMAND (its output into $work/run.out) under /usr/bin/time
# (user and system seconds, peak RSS into $work/run.cpu), sampling its threads into
# THREADS; fails, showing its errors, when it fails.
measure() {
  /usr/bin/time -f "%U %S %M" -o "$work/run.cpu" "$@" > "$work/run.out" 2>"$work/run.err" &
  local pid=$!
  THREADS=$(max_threads "$pid")
  if ! wait "$pid"; then
    echo "bench: failed: $*" >&2
    cat "$work/run.err" >&2
    return 1
  fi
}

# run WORKLOAD GROUP MODE CACHE RW BS IODEPTH JOBS CLIENT ROUND
run() {
  local workload=$1 group=$2 mode=$3 cache=$4 rw=$5 bs=$6 depth=$7 jobs=$8 client=$9 round=${10}
  local conf; conf=$(conf_for "$mode" "$cache")
  local json=$work/run.json environment=(CEPH_CONF="$conf")
  [ "$client" = swiftrbd ] && environment+=(LD_LIBRARY_PATH="$libs")
  measure env "${environment[@]}" \
    fio --name="$workload" --ioengine=rbd --clientname=admin --pool="$pool" --rbdname="$name" \
      --rw="$rw" --bs="$bs" --iodepth="$depth" --numjobs="$jobs" --thread=1 --group_reporting=1 \
      --time_based=1 --runtime="$RUNTIME" --norandommap=1 --randrepeat=0 \
      --output-format=json --output="$json"
  python3 - "$json" "$work/run.cpu" "$THREADS" "$workload,$group,$mode,$cache,$rw,$bs,$depth,$jobs,$client,$round" >> "$results" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
user, system, rss = open(sys.argv[2]).read().split()[-3:]
ios = sum(job[d]["total_ios"] for d in ("read", "write"))
seconds = max(job[d]["runtime"] for d in ("read", "write")) / 1000.0
byts = sum(job[d]["io_bytes"] for d in ("read", "write"))
side = job["read"] if job["read"]["total_ios"] >= job["write"]["total_ios"] else job["write"]
pct = side["clat_ns"].get("percentile", {})
def p(key): return pct.get(key, 0) / 1000.0
cpu = float(user) + float(system)
print("%s,%.1f,%.2f,%.1f,%.1f,%.1f,%.3f,%d,%.2f,%s,%s" % (sys.argv[4], ios / seconds, byts / seconds / 1e6,
      p("50.000000"), p("99.000000"), p("99.900000"), cpu, ios, cpu / ios * 1e6 if ios else 0, rss, sys.argv[3]))
PY
}

# run_tool WORKLOAD TYPE ROUND: `rbd bench` (librbd) beside `rbdctl bench` (SwiftRBD's own
# tool, no fio, no C ABI), 4 KiB random at 16 in flight, crc mode, no cache.
run_tool() {
  local workload=$1 type=$2 round=$3 client tool conf; conf=$(conf_for crc off)
  for client in librbd swiftrbd; do
    tool=rbd; [ "$client" = swiftrbd ] && tool=$bin/rbdctl
    measure env CEPH_CONF="$conf" "$tool" bench --io-type "$type" --io-size 4096 --io-threads 16 \
      --io-total "$TOOL_TOTAL" --io-pattern rand "$IMAGE" --rbd_cache=false
    # "elapsed: N   ops: N   ops/sec: X   bytes/sec: ..."
    python3 - "$work/run.out" "$work/run.cpu" "$THREADS" "$workload,tools,crc,off,rand$type,4k,16,1,$client,$round" >> "$results" <<'PY'
import sys
line = next(l for l in open(sys.argv[1]) if l.startswith("elapsed:")).split()
ops, rate = int(line[3]), float(line[5])
user, system, rss = open(sys.argv[2]).read().split()[-3:]
cpu = float(user) + float(system)
print("%s,%.1f,%.2f,0,0,0,%.3f,%d,%.2f,%s,%s" % (sys.argv[4], rate, rate * 4096 / 1e6, cpu, ops, cpu / ops * 1e6, rss, sys.argv[3]))
PY
  done
}
TOOL_TOTAL=${TOOL_TOTAL:-128M}

# The workloads: name group rw bs iodepth jobs cache.
workloads=()
for depth in 1 16 32; do
  workloads+=("4k-randread-qd$depth main randread 4k $depth 1 off")
  workloads+=("4k-randwrite-qd$depth main randwrite 4k $depth 1 off")
  workloads+=("4k-randwrite-qd$depth-cache main randwrite 4k $depth 1 on")
done
workloads+=("64k-seqread main read 64k 16 1 off" "64k-seqwrite main write 64k 16 1 off" "64k-seqwrite-cache main write 64k 16 1 on")
workloads+=("4m-seqread main read 4m 16 1 off" "4m-seqwrite main write 4m 16 1 off" "4m-seqwrite-cache main write 4m 16 1 on")

total=$(( ${#workloads[@]} * $(wc -w <<< "$MODES") * ROUNDS * 2 ))
done_runs=0
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    for spec in "${workloads[@]}"; do
      read -r workload group rw bs depth jobs cache <<< "$spec"
      for client in librbd swiftrbd; do
        run "$workload" "$group" "$mode" "$cache" "$rw" "$bs" "$depth" "$jobs" "$client" "$round"
        done_runs=$((done_runs + 1))
        printf '\rbench: %d/%d runs' "$done_runs" "$total" >&2
      done
    done
  done
  run_tool rbd-bench-4k-randread read "$round"
  run_tool rbd-bench-4k-randwrite write "$round"
done
echo >&2

# How the cost grows: in-flight I/Os, and open images (one fio job, and one image
# handle with its own cluster connection, per image), 4 KiB random reads in crc mode.
if [ "$QUICK" != 1 ]; then
  echo "bench: scaling runs" >&2
  for depth in 1 4 16 64; do
    for client in librbd swiftrbd; do run "inflight-$depth" scale-depth crc off randread 4k "$depth" 1 "$client" 1; done
  done
  for jobs in 1 8 64; do
    for client in librbd swiftrbd; do run "images-$jobs" scale-images crc off randread 4k 4 "$jobs" "$client" 1; done
  done
fi

# fio's own threads and memory (the null engine), the same on both sides.
measure fio --name=null --ioengine=null --rw=randread --bs=4k --size=1g \
  --thread=1 --time_based=1 --runtime=1 --output-format=json --output="$work/null.json"
null_threads=$THREADS
null_rss=$(awk '{print $3}' "$work/run.cpu" | tail -1)

echo "bench: micro-benchmarks" >&2
"$bin/Microbench" all > "$work/micro.txt" 2>&1 || true  # CRUSH beside crushtool --test
mkdir -p "$OUT/bench"
cp "$results" "$OUT/bench/results.csv"
cp "$work/micro.txt" "$OUT/bench/microbench.txt"
python3 scripts/support/bench-report.py "$OUT/bench/results.csv" "$OUT/bench/microbench.txt" "$OUT" \
  --null-threads "$null_threads" --null-rss "$null_rss" \
  --runtime "$RUNTIME" --rounds "$ROUNDS" --seconds "$(( $(date +%s) - started_at ))"
echo "bench: wrote $OUT/BENCHMARKS.md, $OUT/bench/ ($(( $(date +%s) - started_at )) s)" >&2
