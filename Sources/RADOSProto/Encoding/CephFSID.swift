import NIOCore

/// Ceph's `ceph_fsid`: the cluster id, 16 raw bytes (`src/include/rados.h`, encoded
/// raw by `WRITE_RAW_ENCODER(ceph_fsid)` in `src/include/types.h`). It is written the
/// same way as a ``CephUUID`` and shown in the same text form (`ceph fsid` prints it).
/// A separate type so a cluster id is never confused with another uuid.
package struct CephFSID: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var uuid: CephUUID

    package init(_ uuid: CephUUID) {
        self.uuid = uuid
    }

    /// Parses the uuid text form, as found in `ceph.conf`'s `fsid`.
    package init?(_ text: some StringProtocol) {
        guard let uuid = CephUUID(text) else { return nil }
        self.uuid = uuid
    }

    package static func < (lhs: CephFSID, rhs: CephFSID) -> Bool { lhs.uuid < rhs.uuid }

    package var description: String { uuid.description }
}

extension ByteBuffer {
    /// `ceph_fsid`: 16 raw bytes.
    package mutating func readDencFSID() throws -> CephFSID {
        do {
            return CephFSID(try readDencUUID())
        } catch let error as DencError {
            var renamed = error
            renamed.context = ["ceph_fsid"]
            throw renamed
        }
    }

    package mutating func writeDencFSID(_ fsid: CephFSID) {
        writeDencUUID(fsid.uuid)
    }
}
