# The two entry points; each installs what it needs (Debian packages, as root).
.PHONY: demo test cluster-up cluster-delete cluster-down bench

demo:   ## a throwaway Ceph cluster plus an rbdctl session against it (images: create, import, bench, snapshot, export, resize, rm)
	bash scripts/demo.sh

bench:  ## SwiftRBD beside librados and librbd (CPU per op); a throwaway cluster unless CEPH_CONF is set
	bash scripts/bench-rados.sh
	bash scripts/bench-rbd.sh

test:   ## the whole suite: unit + integration against a throwaway cluster
	bash scripts/test.sh

cluster-up:
	bash scripts/dev-cluster.sh up .cluster

cluster-delete:  ## stops the demo cluster and deletes it with all its data
	bash scripts/dev-cluster.sh down .cluster

cluster-down: cluster-delete  ## the old name of cluster-delete
