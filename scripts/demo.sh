#!/usr/bin/env bash
# The main job: a throwaway cluster and a short rbdctl session against it.
#   scripts/demo.sh   (what `make demo` runs; the cluster stays up afterwards:
#                      stop it with `scripts/dev-cluster.sh down`)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/dev-cluster.sh up .cluster
export CEPH_CONF="$PWD/.cluster/ceph.conf"

echo "demo: building rbdctl"
swift build --product rbdctl 2>&1 | grep -E "error|warning: |Compiling rbdctl|Build complete" || true
RBDCTL="$(swift build --show-bin-path)/rbdctl"

run() { echo; echo "\$ $*"; "$@"; }

run "$RBDCTL" --version
run "$RBDCTL" --help
