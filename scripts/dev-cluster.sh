#!/usr/bin/env bash
# A throwaway Ceph cluster on 127.0.0.1, like Ceph's vstart.sh:
# one monitor, one manager, three OSDs, cephx required, msgr2 on, and a
# replicated pool `rbd` (size 2) initialised for RBD.
#
#   scripts/dev-cluster.sh up     [DIR]   start (no-op when already running)
#   scripts/dev-cluster.sh down   [DIR]   stop the daemons it started, delete DIR
#   scripts/dev-cluster.sh status [DIR]   print `ceph -s`
#   scripts/dev-cluster.sh env    [DIR]   print the export line
#
# DIR defaults to .cluster (relative to the current directory). Environment:
#   OBJECTSTORE=memstore|bluestore   (default memstore: quickest; bluestore survives kill -9)
#   NUM_OSDS=3                       how many OSDs
#   NUM_MONS=1                       how many monitors (a, b, c, …; 3 for a quorum that survives one loss)
# Several clusters can run at once in different DIRs: each picks free ports.
set -Eeuo pipefail
# Every command below names this cluster's file with -c; tools run without -c
# (ceph-authtool) must not read another cluster's file from the environment (a test
# that starts a throwaway cluster runs with CEPH_CONF pointing at the shared one: its
# admin sockets and pid files would collide).
unset CEPH_CONF
# A command that fails under set -e says which one it was (never a silent exit).
trap 'echo "dev-cluster: error: line $LINENO: \"$BASH_COMMAND\" failed (logs in ${DIR:-?}/log)" >&2' ERR

cmd=${1:-}
DIR=${2:-.cluster}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF="$DIR/ceph.conf"
OBJECTSTORE=${OBJECTSTORE:-memstore}
NUM_OSDS=${NUM_OSDS:-3}
NUM_MONS=${NUM_MONS:-1}
MON_NAMES=(a b c d e)
[ "$NUM_MONS" -ge 1 ] && [ "$NUM_MONS" -le 5 ] || { echo "dev-cluster: error: NUM_MONS must be 1 to 5" >&2; exit 1; }
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4

log() { echo "dev-cluster: $*" >&2; }
die() { echo "dev-cluster: error: $*" >&2; exit 1; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

running() { pid_alive "$DIR/run/mon.a.pid"; }

print_env() {
  echo "export CEPH_CONF=$CONF"
}

# Daemons started by this script, in the order they must stop: OSDs, then mgr, then mon.
stop_all() {
  local pidfile pid
  for pidfile in "$DIR"/run/osd.*.pid "$DIR/run/mgr.x.pid" "$DIR"/run/mon.*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

# A block of free TCP ports: the monitor's v2 and v1 ports, then a range for the
# other daemons' bind ports. The start depends on DIR so parallel clusters differ;
# SKIP blocks are passed over (a retry after a block turned out to be taken).
# Blocks lie below the kernel's ephemeral range: a port in that range can be taken
# at any moment by some client's outgoing connection, which a check for listening
# sockets cannot see coming (a monitor failed to bind that way).
pick_ports() { # [SKIP]
  local skip=${1:-0} seed base low blocks i
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  blocks=$(( (low - 10000) / 100 - 1 ))
  [ "$blocks" -ge 10 ] || blocks=200
  seed=$(echo -n "$DIR" | cksum | cut -d' ' -f1)
  for i in $(seq 0 $((blocks - 1))); do
    base=$(( 10000 + ((seed + skip + i) % blocks) * 100 ))
    # Any socket (listening or connected) on a port of the block makes it busy.
    if ss -Htan "( sport >= :$base and sport <= :$((base + 99)) )" | grep -q .; then continue; fi
    echo "$base"; return
  done
  die "no free block of 100 TCP ports found between 10000 and $low"
}

# Monitor i listens on base + 2i (v2) and base + 2i + 1 (v1).
mon_addrs() { # BASE INDEX
  echo "[v2:127.0.0.1:$(( $1 + 2 * $2 )),v1:127.0.0.1:$(( $1 + 2 * $2 + 1 ))]"
}

write_conf() {
  local fsid=$1 base=$2 i hosts=""
  for i in $(seq 0 $((NUM_MONS - 1))); do hosts="$hosts${hosts:+ }$(mon_addrs "$base" "$i")"; done
  cat > "$CONF" <<CONF
; Written by scripts/dev-cluster.sh: a throwaway test cluster. Do not reuse.
[global]
fsid = $fsid
mon_host = $hosts
public_addr = 127.0.0.1
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
ms_bind_msgr2 = true
ms_bind_port_min = $((base + 2 * NUM_MONS))
ms_bind_port_max = $((base + 99))
run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
crash_dir = $DIR/crash
keyring = $DIR/keyring
osd_pool_default_size = 2
osd_pool_default_min_size = 1
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_data_avail_warn = 1
mon_data_avail_crit = 1
paxos_propose_interval = 0.05
mon_mgr_digest_period = 1
mgr_stats_period = 1
osd_mon_report_interval = 1

[client]
# One admin socket per client process: tests run Ceph's tools while librbd clients
# (python3-rbd) of the same name are open, and two processes on one socket path make
# the second one fail to bind it (Pacific's rbd has then been seen to abort).
admin_socket = $DIR/run/\$name.\$pid.asok

[client.admin]
keyring = $DIR/ceph.client.admin.keyring

[mon]
mon_data = $DIR/\$name
mon_cluster_log_file = $DIR/log/cluster.log

[mgr]
mgr_data = $DIR/\$name

[osd]
osd_data = $DIR/\$name
osd_objectstore = $OBJECTSTORE
memstore_page_set = true
memstore_page_size = 4096
memstore_device_bytes = 8589934592
bluestore_block_size = 10737418240
bluestore_block_create = true
osd_min_pg_log_entries = 100
osd_max_pg_log_entries = 500
osd_target_pg_log_entries_per_osd = 3000
osd_pg_log_dups_tracked = 100
# Tests mark OSDs down on purpose, over and over: without this an OSD marked down 5 times
# in 10 minutes shuts itself down for good.
osd_max_markdown_count = 1000
CONF
}

wait_for() { # SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${limit}s waiting for $what (logs in $DIR/log)"
    sleep 0.2
  done
}

all_pgs_active() {
  local out
  out=$(ceph -c "$CONF" pg stat 2>/dev/null) || return 1
  # e.g. "33 pgs: 33 active+clean; ..."
  echo "$out" | grep -Eq '^[0-9]+ pgs: [0-9]+ active\+clean;' || return 1
  local total clean
  total=$(echo "$out" | sed -E 's/^([0-9]+) pgs:.*/\1/')
  clean=$(echo "$out" | sed -E 's/^[0-9]+ pgs: ([0-9]+) active\+clean;.*/\1/')
  [ "$total" = "$clean" ]
}

up() {
  if running; then
    log "already running in $DIR"
    print_env
    return 0
  fi
  for tool in ceph-mon ceph-osd ceph-mgr ceph ceph-authtool monmaptool rbd ss uuidgen; do
    command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
  done
  local start; start=$(date +%s)
  stop_all
  find "$DIR" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/mon.a" "$DIR/mgr.x"

  local fsid base attempt started=""
  fsid=$(uuidgen)
  # Keys: every daemon's and client.admin's, all seeded into the monitor at mkfs.
  local keyring="$DIR/keyring"
  ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  ceph-authtool "$keyring" --import-keyring "$DIR/ceph.client.admin.keyring" >/dev/null
  ceph-authtool "$keyring" --gen-key -n mgr.x --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
  local i
  for i in $(seq 0 $((NUM_OSDS - 1))); do
    ceph-authtool "$keyring" --gen-key -n "osd.$i" --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  done
  chmod 600 "$keyring" "$DIR/ceph.client.admin.keyring"

  # The monitor's ports are fixed in the monmap: if another process takes one between
  # the check and the bind, start again on another block (three tries).
  for attempt in 1 2 3; do
    base=$(pick_ports $(( (attempt - 1) * 7 )))
    write_conf "$fsid" "$base"
    local monmap_args=() name
    for i in $(seq 0 $((NUM_MONS - 1))); do monmap_args+=(--addv "${MON_NAMES[$i]}" "$(mon_addrs "$base" "$i")"); done
    monmaptool --create --clobber --fsid "$fsid" "${monmap_args[@]}" "$DIR/monmap" >/dev/null
    started=yes
    for i in $(seq 0 $((NUM_MONS - 1))); do
      name=${MON_NAMES[$i]}
      rm -rf "$DIR/mon.$name" && mkdir -p "$DIR/mon.$name"
      ceph-mon -c "$CONF" --mkfs -i "$name" --monmap "$DIR/monmap" --keyring "$keyring" >"$DIR/log/mkfs-mon.$name.log" 2>&1 \
        || die "ceph-mon --mkfs for mon.$name failed: $(tail -3 "$DIR/log/mkfs-mon.$name.log")"
      if ! LD_PRELOAD=$TCMALLOC ceph-mon -c "$CONF" -i "$name" 2>>"$DIR/log/mon.$name.stderr"; then
        log "ceph-mon $name did not start on $(mon_addrs "$base" "$i") (try $attempt of 3): $( { tail -q -n 3 "$DIR/log/mon.$name.stderr" "$DIR/log/mon.$name.log" 2>/dev/null || true; } | tr '\n' ' ')"
        started=""
        break
      fi
    done
    [ -n "$started" ] && break
    stop_all
  done
  [ -n "$started" ] || die "ceph-mon did not start in three tries (logs in $DIR/log)"
  wait_for 30 "the monitor" ceph -c "$CONF" --connect-timeout 2 mon stat

  LD_PRELOAD=$TCMALLOC ceph-mgr -c "$CONF" -i x 2>>"$DIR/log/mgr.x.stderr"

  local uuid
  for i in $(seq 0 $((NUM_OSDS - 1))); do
    mkdir -p "$DIR/osd.$i"
    uuid=$(uuidgen)
    # Monitor commands are retried until they go through (idempotent; a loaded
    # machine can make the first try fail).
    wait_for 60 "osd new for osd.$i" ceph -c "$CONF" osd new "$uuid" "$i"
    ceph-osd -c "$CONF" -i "$i" --mkfs --osd-uuid "$uuid" >"$DIR/log/mkfs-osd.$i.log" 2>&1 \
      || die "ceph-osd --mkfs for osd.$i failed: $(tail -3 "$DIR/log/mkfs-osd.$i.log")"
    LD_PRELOAD=$TCMALLOC ceph-osd -c "$CONF" -i "$i" 2>>"$DIR/log/osd.$i.stderr"
  done
  wait_for 60 "$NUM_OSDS OSDs up" bash -c "ceph -c '$CONF' osd stat -f json | grep -q '\"num_up_osds\":$NUM_OSDS'"

  wait_for 60 "pool rbd to be created" ceph -c "$CONF" osd pool create rbd 32 32 replicated
  wait_for 60 "pool rbd's application" ceph -c "$CONF" osd pool application enable rbd rbd
  wait_for 60 "rbd pool init" rbd -c "$CONF" pool init rbd
  wait_for 60 "every PG active+clean" all_pgs_active
  log "up in $(( $(date +%s) - start ))s: $NUM_MONS mon (v2 127.0.0.1:$base…), $NUM_OSDS $OBJECTSTORE OSDs, pool rbd (size 2)"
  print_env
}

down() {
  if [ ! -f "$CONF" ] && ! ls "$DIR"/run/*.pid >/dev/null 2>&1; then
    log "nothing to stop in $DIR"
    return 0
  fi
  stop_all
  find "$DIR" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  rmdir "$DIR" 2>/dev/null || true
  log "stopped and removed $DIR"
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status)
    running || die "no cluster running in $DIR"
    ceph -c "$CONF" -s ;;
  env)
    running || die "no cluster running in $DIR"
    print_env ;;
  *) echo "usage: $0 up|down|status|env [DIR]" >&2; exit 2 ;;
esac
