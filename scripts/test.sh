#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts a throwaway cluster in its
# own folder, builds (failing on any warning in our code), runs unit and integration
# tests with CEPH_CONF pointing at the cluster, and stops the cluster.
#   scripts/test.sh            (what `make test` and CI run)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

CLUSTER_DIR=${CLUSTER_DIR:-.cluster-test}
bash scripts/dev-cluster.sh down "$CLUSTER_DIR" >/dev/null 2>&1 || true
trap 'bash scripts/dev-cluster.sh down "$CLUSTER_DIR" >/dev/null 2>&1 || true' EXIT
bash scripts/dev-cluster.sh up "$CLUSTER_DIR"
export CEPH_CONF="$PWD/$CLUSTER_DIR/ceph.conf"

echo "test: building"
build_log=$(mktemp)
if ! swift build --build-tests 2>&1 | tee "$build_log" | grep -E "error:|warning:" ; then :; fi
if grep -q "error:" "$build_log"; then
  echo "test: build failed" >&2
  exit 1
fi
# Our own code must build without warnings (dependencies' warnings are not ours).
if grep -E "^$PWD/(Sources|Tests)/.*warning:" "$build_log" >/dev/null; then
  echo "test: warnings in our code (see above); fix them" >&2
  exit 1
fi

echo "test: running swift test with CEPH_CONF=$CEPH_CONF"
swift test 2>&1
