import NIOCore

/// `entity_addr_t`: where a Ceph daemon or client listens.
///
/// Source: ceph/ceph `src/msg/msg_types.h` (`entity_addr_t::encode/decode`), kernel
/// `net/ceph/decode.c`. Two encodings exist, told apart by the first byte:
/// - marker 0, legacy (pre-Nautilus): the rest of a u32 type (always 0 on the wire), a u32
///   nonce, then a 128-byte `sockaddr_storage` whose family is **big-endian**;
/// - marker 1, new (`MSG_ADDR2`): a versioned struct (v1, compat 1) holding u32 type, u32
///   nonce, u32 sockaddr length, then the sockaddr with a **little-endian** u16 family
///   followed by the raw `sa_data` (port in network byte order, then the address).
///   Lengths are 16 for IPv4 (`sockaddr_in`), 28 for IPv6 (`sockaddr_in6`); a blank
///   address is sent as 28 zero bytes.
/// Families on the wire are Linux's: AF_INET 2, AF_INET6 10.
package struct EntityAddress: Hashable, Sendable, CustomStringConvertible {
    /// `entity_addr_t::TYPE_*`.
    package enum AddressType: UInt32, Sendable {
        case none = 0
        case legacy = 1
        case msgr2 = 2
        case any = 3
        case cidr = 4
    }

    /// The socket address part.
    package enum Endpoint: Hashable, Sendable {
        /// No address (family 0).
        case unspecified
        /// IPv4 address (four octets) and port.
        case ipv4(UInt8, UInt8, UInt8, UInt8, port: UInt16)
        /// IPv6 address (16 octets), port, flow info and scope id.
        case ipv6([UInt8], port: UInt16, flowInfo: UInt32, scopeID: UInt32)
        /// A family we do not interpret; `data` is `sa_data` as received.
        case other(family: UInt16, data: [UInt8])
    }

    package static let familyIPv4: UInt16 = 2
    package static let familyIPv6: UInt16 = 10
    /// `sizeof(sockaddr_in)`, `sizeof(sockaddr_in6)`, and the legacy `sockaddr_storage`.
    static let ipv4Length = 16
    static let ipv6Length = 28
    static let legacyStorageLength = 128

    /// The raw `type` field; see ``AddressType``.
    package var type: UInt32
    package var nonce: UInt32
    package var endpoint: Endpoint

    package init(type: AddressType, nonce: UInt32 = 0, endpoint: Endpoint) {
        self.type = type.rawValue
        self.nonce = nonce
        self.endpoint = endpoint
    }

    package init(rawType: UInt32, nonce: UInt32, endpoint: Endpoint) {
        self.type = rawType
        self.nonce = nonce
        self.endpoint = endpoint
    }

    /// A blank address (type NONE, no socket address).
    package static let blank = EntityAddress(type: .none, endpoint: .unspecified)

    /// Parses a dotted IPv4 address.
    package static func ipv4(_ host: String, port: UInt16, type: AddressType = .msgr2, nonce: UInt32 = 0) -> EntityAddress? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard let v = UInt8(part) else { return nil }
            octets.append(v)
        }
        return EntityAddress(type: type, nonce: nonce, endpoint: .ipv4(octets[0], octets[1], octets[2], octets[3], port: port))
    }

    /// Parses a numeric IPv4 or IPv6 address (no name lookup).
    package static func ip(_ host: String, port: UInt16, type: AddressType = .msgr2, nonce: UInt32 = 0) -> EntityAddress? {
        if let v4 = ipv4(host, port: port, type: type, nonce: nonce) { return v4 }
        let trimmed = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard let parsed = try? SocketAddress(ipAddress: trimmed, port: Int(port)) else { return nil }
        switch parsed {
        case .v6(let address):
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            return EntityAddress(type: type, nonce: nonce, endpoint: .ipv6(bytes, port: port, flowInfo: 0, scopeID: 0))
        case .v4, .unixDomainSocket:
            return nil
        }
    }

    package var port: UInt16? {
        switch endpoint {
        case .ipv4(_, _, _, _, let port): return port
        case .ipv6(_, let port, _, _): return port
        case .unspecified, .other: return nil
        }
    }

    /// The host as text (`1.2.3.4` or hex groups for IPv6), or nil.
    package var host: String? {
        switch endpoint {
        case .ipv4(let a, let b, let c, let d, _): return "\(a).\(b).\(c).\(d)"
        case .ipv6(let bytes, _, _, _):
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
        case .unspecified, .other: return nil
        }
    }

    /// The address without its type, as `entity_addr_t::get_legacy_str()` prints it
    /// (`127.0.0.1:0/4080431130`): what `rados lock info` shows (ceph/ceph
    /// `src/msg/msg_types.h`).
    package var legacyDescription: String {
        switch endpoint {
        case .ipv4: return "\(host ?? ""):\(port ?? 0)/\(nonce)"
        case .ipv6: return "[\(host ?? "")]:\(port ?? 0)/\(nonce)"
        case .unspecified: return "-/\(nonce)"
        case .other(let family, _): return "family\(family)/\(nonce)"
        }
    }

    package var description: String {
        let prefix: String
        switch AddressType(rawValue: type) {
        case .msgr2: prefix = "v2:"
        case .legacy: prefix = "v1:"
        case .any: prefix = "any:"
        case .cidr: prefix = "cidr:"
        case .some(.none), nil: prefix = ""
        }
        return prefix + legacyDescription
    }

    // MARK: sockaddr bytes

    /// `sa_data` (everything after the family) for this endpoint, at its natural length.
    private var socketData: (family: UInt16, data: [UInt8]) {
        switch endpoint {
        case .unspecified:
            return (0, [UInt8](repeating: 0, count: Self.ipv6Length - 2))
        case .ipv4(let a, let b, let c, let d, let port):
            return (Self.familyIPv4, [UInt8(port >> 8), UInt8(port & 0xFF), a, b, c, d] + [UInt8](repeating: 0, count: 8))
        case .ipv6(let bytes, let port, let flow, let scope):
            var data: [UInt8] = [UInt8(port >> 8), UInt8(port & 0xFF)]
            data += [UInt8(flow >> 24), UInt8((flow >> 16) & 0xFF), UInt8((flow >> 8) & 0xFF), UInt8(flow & 0xFF)]
            data += bytes.count == 16 ? bytes : [UInt8](repeating: 0, count: 16)
            data += [UInt8(scope & 0xFF), UInt8((scope >> 8) & 0xFF), UInt8((scope >> 16) & 0xFF), UInt8(scope >> 24)]
            return (Self.familyIPv6, data)
        case .other(let family, let data):
            return (family, data)
        }
    }

    private static func endpoint(family: UInt16, data: ByteBuffer) -> Endpoint {
        var data = data
        switch family {
        case 0:
            return .unspecified
        case familyIPv4:
            guard let bytes = data.readBytes(length: 6) else { return .other(family: family, data: data.readBytes(length: data.readableBytes) ?? []) }
            return .ipv4(bytes[2], bytes[3], bytes[4], bytes[5], port: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        case familyIPv6:
            guard let bytes = data.readBytes(length: 26) else { return .other(family: family, data: data.readBytes(length: data.readableBytes) ?? []) }
            let port = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            let flow = UInt32(bytes[2]) << 24 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 8 | UInt32(bytes[5])
            let scope = UInt32(bytes[22]) | UInt32(bytes[23]) << 8 | UInt32(bytes[24]) << 16 | UInt32(bytes[25]) << 24
            return .ipv6(Array(bytes[6..<22]), port: port, flowInfo: flow, scopeID: scope)
        default:
            return .other(family: family, data: data.readBytes(length: data.readableBytes) ?? [])
        }
    }
}

extension ByteBuffer {
    /// Writes the new (`MSG_ADDR2`) encoding: marker 1, then the versioned struct.
    package mutating func writeEntityAddress(_ address: EntityAddress) {
        writeDencU8(1)
        writeDencVersioned(version: 1, compat: 1) { buffer in
            buffer.writeDencU32(address.type)
            buffer.writeDencU32(address.nonce)
            let (family, data) = address.socketDataForEncoding
            buffer.writeDencU32(UInt32(2 + data.count))
            buffer.writeDencU16(family)
            buffer.writeBytes(data)
        }
    }

    /// Writes the legacy encoding (marker 0): u32 type 0, nonce, 128-byte sockaddr_storage
    /// with a big-endian family.
    package mutating func writeLegacyEntityAddress(_ address: EntityAddress) {
        writeDencU32(0)
        writeDencU32(address.nonce)
        let (family, data) = address.socketDataForEncoding
        writeInteger(family, endianness: .big)
        var storage = data.prefix(EntityAddress.legacyStorageLength - 2)
        if storage.count < EntityAddress.legacyStorageLength - 2 {
            storage.append(contentsOf: [UInt8](repeating: 0, count: EntityAddress.legacyStorageLength - 2 - storage.count))
        }
        writeBytes(storage)
    }

    /// Reads either encoding of `entity_addr_t`.
    package mutating func readEntityAddress() throws -> EntityAddress {
        let start = self
        let marker = try readDencU8()
        switch marker {
        case 0:
            _ = try readDencFixed(3)
            let nonce = try readDencU32()
            var storage = try readDencFixed(EntityAddress.legacyStorageLength)
            // Exactly two bytes are there: the fixed read above succeeded.
            let family = storage.readInteger(endianness: .big, as: UInt16.self) ?? 0
            return EntityAddress(rawType: EntityAddress.AddressType.legacy.rawValue, nonce: nonce, endpoint: EntityAddress.endpointFromWire(family: family, data: storage))
        case 1:
            return try readDencVersioned("entity_addr_t", understands: 1) { body, _ in
                let type = try body.readDencU32()
                let nonce = try body.readDencU32()
                let length = try body.readDencLength(limit: EntityAddress.legacyStorageLength)
                guard length > 0 else { return EntityAddress(rawType: type, nonce: nonce, endpoint: .unspecified) }
                guard length >= 2 else { throw DencError(.invalidValue("sockaddr length \(length)"), at: body) }
                let family = try body.readDencU16()
                let data = try body.readDencFixed(length - 2)
                return EntityAddress(rawType: type, nonce: nonce, endpoint: EntityAddress.endpointFromWire(family: family, data: data))
            }
        default:
            throw DencError(.invalidValue("entity_addr_t marker \(marker)"), at: start)
        }
    }

    /// `entity_addrvec_t` in the new encoding: marker 2, u32 count, new-style addresses.
    package mutating func writeEntityAddressVector(_ addresses: [EntityAddress]) {
        writeDencU8(2)
        writeDencU32(UInt32(truncatingIfNeeded: addresses.count))
        for address in addresses { writeEntityAddress(address) }
    }

    /// Reads `entity_addrvec_t`: marker 2 (a vector), or a single legacy (0) or new (1) address.
    package mutating func readEntityAddressVector(limit: Int = 64) throws -> [EntityAddress] {
        guard let marker = getInteger(at: readerIndex, as: UInt8.self) else {
            throw DencError(.truncated(needed: 1, available: 0), at: self)
        }
        switch marker {
        case 0, 1:
            return [try readEntityAddress()]
        case 2:
            _ = try readDencU8()
            // The smallest new-style address is 1 + 6 + 12 bytes.
            return try readDencArray(limit: limit, minimumElementSize: 19) { try $0.readEntityAddress() }
        default:
            throw DencError(.invalidValue("entity_addrvec_t marker \(marker)"), at: self)
        }
    }
}

extension EntityAddress {
    fileprivate var socketDataForEncoding: (family: UInt16, data: [UInt8]) { socketData }

    fileprivate static func endpointFromWire(family: UInt16, data: ByteBuffer) -> Endpoint {
        endpoint(family: family, data: data)
    }
}
