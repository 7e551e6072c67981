import NIOCore

extension OSDOp {
    /// `CEPH_OSD_OP_LIST_SNAPS`: the object's clones and the snapshots each belongs to.
    /// No input; librados sends it as a read with the request's snap id set to
    /// `CEPH_SNAPDIR` (`ObjectOperation::list_snaps` in ceph/ceph `src/osdc/Objecter.h`,
    /// `IoCtxImpl::list_snaps`). The output is an ``ObjectSnapList``.
    package static var listSnaps: OSDOp { OSDOp(.listSnaps) }
}

/// What `CEPH_OSD_OP_LIST_SNAPS` returns: `obj_list_snap_response_t`.
///
/// Layout (ceph/ceph `src/osd/osd_types.h`, `obj_list_snap_response_t` and
/// `clone_info`; Linux `net/ceph/list_snaps.c`): a versioned struct, version 2,
/// compat 1: a vector of clones, then (from version 2) the snap seq; before version 2
/// the seq is `CEPH_NOSNAP`. Each clone is a versioned struct, version 1, compat 1:
/// u64 clone id (`CEPH_NOSNAP` for the head), vector of u64 snap ids, vector of
/// (u64 offset, u64 length) overlaps with the next newer clone, u64 size.
package struct ObjectSnapList: Hashable, Sendable {
    package struct Clone: Hashable, Sendable {
        /// The clone's snap id, or `CEPH_NOSNAP` for the head object.
        package var cloneID: UInt64
        /// Snapshots this clone belongs to, ascending.
        package var snaps: [UInt64]
        /// Ranges this clone shares with the next newer one.
        package var overlaps: [SparseReadResult.Extent]
        package var size: UInt64

        package init(cloneID: UInt64, snaps: [UInt64], overlaps: [SparseReadResult.Extent], size: UInt64) {
            self.cloneID = cloneID
            self.snaps = snaps
            self.overlaps = overlaps
            self.size = size
        }
    }

    /// `CEPH_NOSNAP`.
    package static let noSnap: UInt64 = .max - 1
    /// Fewest bytes a `clone_info` takes: envelope 6, id 8, two empty vectors 8, size 8.
    static let minimumCloneSize = 30

    /// Clones in ascending id order (the head last).
    package var clones: [Clone]
    package var seq: UInt64

    package init(clones: [Clone], seq: UInt64) {
        self.clones = clones
        self.seq = seq
    }

    /// Decodes a list-snaps output; it must be consumed exactly.
    package static func decode(_ output: ByteBuffer) throws -> ObjectSnapList {
        try output.decodeExactly("list_snaps") { buffer in
            try buffer.readDencVersioned("obj_list_snap_response_t", understands: 2) { body, version in
                let clones = try body.readDencArray(minimumElementSize: minimumCloneSize) { entry in
                    try entry.readDencVersioned("clone_info", understands: 1) { fields, _ in
                        let id = try fields.readDencU64()
                        let snaps = try fields.readDencArray(minimumElementSize: 8) { try $0.readDencU64() }
                        let overlaps = try fields.readDencArray(minimumElementSize: 16) { pair in
                            SparseReadResult.Extent(offset: try pair.readDencU64(), length: try pair.readDencU64())
                        }
                        let size = try fields.readDencU64()
                        return Clone(cloneID: id, snaps: snaps, overlaps: overlaps, size: size)
                    }
                }
                let seq = version >= 2 ? try body.readDencU64() : noSnap
                return ObjectSnapList(clones: clones, seq: seq)
            }
        }
    }

    /// Writes the output as an OSD does.
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencVersioned(version: 2, compat: 1) { body in
            body.writeDencArray(clones) { out, clone in
                out.writeDencVersioned(version: 1, compat: 1) { fields in
                    fields.writeDencU64(clone.cloneID)
                    fields.writeDencArray(clone.snaps) { $0.writeDencU64($1) }
                    fields.writeDencArray(clone.overlaps) { pair, overlap in
                        pair.writeDencU64(overlap.offset)
                        pair.writeDencU64(overlap.length)
                    }
                    fields.writeDencU64(clone.size)
                }
            }
            body.writeDencU64(seq)
        }
    }
}
