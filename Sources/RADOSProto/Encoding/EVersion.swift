import NIOCore

/// Ceph's `eversion_t` (`src/osd/osd_types.h`): a position in a placement group's log,
/// the OSD map epoch and the version within it. `MOSDOpReply` carries one per reply.
///
/// Wire form (raw, no envelope): u64 version, then u32 epoch — 12 bytes. Note the order:
/// version first on the wire, but ordering (and Ceph's `epoch'version` text) puts the
/// epoch first.
package struct EVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var epoch: UInt32
    package var version: UInt64

    package static let zero = EVersion(epoch: 0, version: 0)

    package init(epoch: UInt32, version: UInt64) {
        self.epoch = epoch
        self.version = version
    }

    package static func < (lhs: EVersion, rhs: EVersion) -> Bool {
        (lhs.epoch, lhs.version) < (rhs.epoch, rhs.version)
    }

    /// `epoch'version`, as Ceph prints it.
    package var description: String { "\(epoch)'\(version)" }
}

extension ByteBuffer {
    /// `eversion_t`: u64 version, u32 epoch.
    package mutating func readDencEVersion() throws -> EVersion {
        guard readableBytes >= 12 else {
            throw DencError(.truncated(needed: 12, available: readableBytes), at: self, context: ["eversion_t"])
        }
        let version = try readDencU64()
        let epoch = try readDencU32()
        return EVersion(epoch: epoch, version: version)
    }

    package mutating func writeDencEVersion(_ value: EVersion) {
        writeDencU64(value.version)
        writeDencU32(value.epoch)
    }
}
