import NIOCore

/// Ceph's `SnapContext` (`src/common/snap_types.h`, `snap_types.cc`): the snapshot
/// state a writer sends with every write, so the OSD can clone an object before it is
/// overwritten. RBD reads it from the image header (`get_snapcontext`) and sends it
/// with each data write.
///
/// Wire form (no envelope): u64 `seq`, then a vector of u64 snapshot ids (u32 count).
/// Decoding does not validate; ``isValid`` applies Ceph's rule, which the OSD enforces.
package struct SnapContext: Hashable, Sendable, CustomStringConvertible {
    /// The newest snapshot sequence number the writer knows of.
    package var seq: UInt64
    /// Existing snapshots, newest (largest id) first.
    package var snaps: [UInt64]

    /// No snapshots: what an image without snapshots sends.
    package static let empty = SnapContext(seq: 0, snaps: [])

    /// The largest id a snapshot may have (`CEPH_MAXSNAP`, `src/include/rados.h`); the
    /// two above it are `CEPH_NOSNAP` (head) and `CEPH_SNAPDIR`.
    package static let maxSnapID: UInt64 = UInt64.max - 2

    package init(seq: UInt64, snaps: [UInt64]) {
        self.seq = seq
        self.snaps = snaps
    }

    /// Ceph's `SnapContext::is_valid`: `seq` is a valid snapshot id, no snapshot is newer
    /// than `seq`, and the snapshots are strictly descending.
    package var isValid: Bool {
        guard seq <= Self.maxSnapID else { return false }
        guard let first = snaps.first else { return true }
        guard first <= seq else { return false }
        var previous = first
        for snap in snaps.dropFirst() {
            guard snap < previous else { return false }
            previous = snap
        }
        return true
    }

    /// `seq=[s1,s2,…]`, as Ceph prints it.
    package var description: String {
        "\(seq)=[\(snaps.map(String.init).joined(separator: ","))]"
    }
}

extension ByteBuffer {
    /// `SnapContext`: u64 seq, vector<u64> snaps.
    package mutating func readDencSnapContext(limit: Int = DencLimit.count) throws -> SnapContext {
        let start = self
        do {
            let seq = try readDencU64()
            let snaps = try readDencArray(limit: limit, minimumElementSize: 8) { try $0.readDencU64() }
            return SnapContext(seq: seq, snaps: snaps)
        } catch let error as DencError {
            self = start
            throw error.within("SnapContext")
        }
    }

    package mutating func writeDencSnapContext(_ context: SnapContext) {
        writeDencU64(context.seq)
        writeDencArray(context.snaps) { $0.writeDencU64($1) }
    }
}
