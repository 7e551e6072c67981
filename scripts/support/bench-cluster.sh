# Sourced by the image benchmarks (from the repository root, after IMAGE is set): without
# CEPH_CONF it installs what is needed and starts a throwaway cluster in .cluster-bench;
# on exit it removes IMAGE and stops that cluster.
BENCH_STARTED=""
bench_finish() {
  rbd rm --no-progress "$IMAGE" >/dev/null 2>&1 || true
  if [ -n "$BENCH_STARTED" ]; then bash scripts/dev-cluster.sh down .cluster-bench >/dev/null; fi
}
trap bench_finish EXIT
if [ -z "${CEPH_CONF:-}" ]; then
  bash scripts/install-deps.sh
  bash scripts/dev-cluster.sh up .cluster-bench >/dev/null
  BENCH_STARTED=1
  export CEPH_CONF="$PWD/.cluster-bench/ceph.conf"
fi
