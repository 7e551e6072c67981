# The two entry points; each installs what it needs (Debian packages, as root).
.PHONY: demo test cluster-up cluster-delete cluster-down bench bench-tools c-libs man

demo:   ## a throwaway Ceph cluster plus an rbdctl session against it (images: create, import, bench, snapshot, export, resize, rm; the QEMU guide's create/resize/info/convert; trash)
	bash scripts/demo.sh

bench:  ## the benchmark suite: fio on librbd and on SwiftRBD side by side, plus micro-benchmarks; writes Docs/BENCHMARKS.md (a throwaway cluster unless CEPH_CONF is set)
	bash scripts/bench.sh

bench-tools:  ## rbdctl beside rbd bench / rados bench, and the cache modes (CPU per op)
	bash scripts/bench-rados.sh
	bash scripts/bench-rbd.sh
	bash scripts/bench-cache.sh

test:   ## the whole suite: unit + integration against a throwaway cluster
	bash scripts/test.sh

cluster-up:
	bash scripts/dev-cluster.sh up .cluster

cluster-delete:  ## stops the demo cluster and deletes it with all its data
	bash scripts/dev-cluster.sh down .cluster

cluster-down: cluster-delete  ## the old name of cluster-delete

# CONFIG=release for an optimised library; debug is what `swift build` makes anyway.
CONFIG ?= debug

c-libs:  ## librados.so.2 and librbd.so.1 (both SwiftRBD's libswiftrbd.so) in .build/c-libs, for scripts/with-swiftrbd
	swift build -c $(CONFIG) --product swiftrbd
	mkdir -p .build/c-libs
	ln -sfn ../$(CONFIG)/libswiftrbd.so .build/c-libs/libswiftrbd.so
	ln -sfn libswiftrbd.so .build/c-libs/librbd.so.1
	ln -sfn libswiftrbd.so .build/c-libs/librados.so.2

man:  ## rbdctl's man page from its command definitions: .build/man/rbdctl.1 (man -l .build/man/rbdctl.1)
	mkdir -p .build/man
	swift package --allow-writing-to-directory .build/man generate-manual --output-directory .build/man
	@echo "man: .build/man/rbdctl.1"
