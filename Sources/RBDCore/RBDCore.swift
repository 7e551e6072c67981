// RBDCore: RBD images (format 2) on top of RADOSProto: names, headers, striping,
// snapshots and locking. Sources: ceph/ceph src/librbd, src/cls/rbd; Linux
// drivers/block/rbd.c.
