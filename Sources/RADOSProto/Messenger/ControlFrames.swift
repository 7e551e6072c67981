import NIOCore

/// The banner exchanged before any frame. Source: ceph/ceph `doc/dev/msgr2.rst`, kernel
/// `prepare_banner` / `process_banner_*`: `"ceph v2\n"`, le16 payload length (16), le64
/// supported and le64 required msgr2 features. Bit 0 is revision 1 (msgr2.1); compression
/// (bit 1) is not offered.
package enum Banner {
    package static let prefix: [UInt8] = Array("ceph v2\n".utf8)
    package static let prefixLength = 10
    package static let revision1: UInt64 = 1
    package static let maxPayloadLength = 4096

    package static func encode(supported: UInt64 = revision1, required: UInt64 = revision1) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes(prefix)
        b.writeDencU16(16)
        b.writeDencU64(supported)
        b.writeDencU64(required)
        return b
    }
}

/// HELLO (tag 1): u8 entity type, entity_addr_t of the peer as we see it.
package struct HelloFrame: Sendable, Equatable {
    package var entityType: UInt8
    package var peerAddress: EntityAddress

    package func encode() -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencU8(entityType)
        b.writeEntityAddress(peerAddress)
        return b
    }

    package static func decode(_ payload: ByteBuffer) throws -> HelloFrame {
        try payload.decodeExactly("HelloFrame") { b in
            HelloFrame(entityType: try b.readDencU8(), peerAddress: try b.readEntityAddress())
        }
    }
}

/// AUTH_REQUEST (tag 2): u32 method, vector<u32> preferred modes, byte list auth payload.
package struct AuthRequestFrame: Sendable {
    package static let methodCephX: UInt32 = 2
    package var method: UInt32 = methodCephX
    package var preferredModes: [ConnectionMode]
    package var payload: ByteBuffer

    package func encode() -> ByteBuffer {
        var b = ByteBuffer()
        b.writeDencU32(method)
        b.writeDencArray(preferredModes) { $0.writeDencU32($1.rawValue) }
        b.writeDencBytes(payload)
        return b
    }
}

/// AUTH_BAD_METHOD (tag 3): u32 method, s32 result, vector<u32> allowed methods, vector<u32> allowed modes.
package struct AuthBadMethodFrame: Sendable, Equatable {
    package var method: UInt32
    package var result: Int32
    package var allowedMethods: [UInt32]
    package var allowedModes: [UInt32]

    package static func decode(_ payload: ByteBuffer) throws -> AuthBadMethodFrame {
        try payload.decodeExactly("AuthBadMethodFrame") { b in
            AuthBadMethodFrame(
                method: try b.readDencU32(), result: try b.readDencI32(),
                allowedMethods: try b.readDencArray(limit: 16, minimumElementSize: 4) { try $0.readDencU32() },
                allowedModes: try b.readDencArray(limit: 16, minimumElementSize: 4) { try $0.readDencU32() })
        }
    }
}

/// AUTH_DONE (tag 6): u64 global_id, u32 connection mode, byte list auth payload.
package struct AuthDoneFrame: Sendable {
    package var globalID: UInt64
    package var mode: UInt32
    package var payload: ByteBuffer

    package static func decode(_ payload: ByteBuffer) throws -> AuthDoneFrame {
        try payload.decodeExactly("AuthDoneFrame") { b in
            AuthDoneFrame(globalID: try b.readDencU64(), mode: try b.readDencU32(), payload: try b.readDencBytes(limit: 1 << 20))
        }
    }
}

/// CLIENT_IDENT (tag 8): entity_addrvec_t of ours, entity_addr_t target, u64 global_id,
/// u64 global_seq, u64 supported features, u64 required features, u64 flags, u64 cookie.
package struct ClientIdentFrame: Sendable, Equatable {
    package static let flagLossy: UInt64 = 1
    package var addresses: [EntityAddress]
    package var target: EntityAddress
    package var globalID: UInt64
    package var globalSeq: UInt64
    package var supportedFeatures: UInt64
    package var requiredFeatures: UInt64
    package var flags: UInt64
    package var cookie: UInt64

    package func encode() -> ByteBuffer {
        var b = ByteBuffer()
        b.writeEntityAddressVector(addresses)
        b.writeEntityAddress(target)
        b.writeDencU64(globalID)
        b.writeDencU64(globalSeq)
        b.writeDencU64(supportedFeatures)
        b.writeDencU64(requiredFeatures)
        b.writeDencU64(flags)
        b.writeDencU64(cookie)
        return b
    }
}

/// SERVER_IDENT (tag 9): entity_addrvec_t, u64 global_id, u64 global_seq, u64 features,
/// u64 required features, u64 flags, u64 cookie.
package struct ServerIdentFrame: Sendable, Equatable {
    package var addresses: [EntityAddress]
    package var globalID: UInt64
    package var globalSeq: UInt64
    package var features: UInt64
    package var requiredFeatures: UInt64
    package var flags: UInt64
    package var cookie: UInt64

    package func encode() -> ByteBuffer {
        var b = ByteBuffer()
        b.writeEntityAddressVector(addresses)
        b.writeDencU64(globalID)
        b.writeDencU64(globalSeq)
        b.writeDencU64(features)
        b.writeDencU64(requiredFeatures)
        b.writeDencU64(flags)
        b.writeDencU64(cookie)
        return b
    }

    package static func decode(_ payload: ByteBuffer) throws -> ServerIdentFrame {
        try payload.decodeExactly("ServerIdentFrame") { b in
            ServerIdentFrame(
                addresses: try b.readEntityAddressVector(), globalID: try b.readDencU64(), globalSeq: try b.readDencU64(),
                features: try b.readDencU64(), requiredFeatures: try b.readDencU64(), flags: try b.readDencU64(), cookie: try b.readDencU64())
        }
    }
}
