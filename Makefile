# The two entry points; each installs what it needs (Debian packages, as root).
.PHONY: demo test cluster-up cluster-down bench

demo:   ## a throwaway Ceph cluster plus an rbdctl session against it
	bash scripts/demo.sh

test:   ## the whole suite: unit + integration against a throwaway cluster
	bash scripts/test.sh

cluster-up:
	bash scripts/dev-cluster.sh up .cluster

cluster-down:
	bash scripts/dev-cluster.sh down .cluster
