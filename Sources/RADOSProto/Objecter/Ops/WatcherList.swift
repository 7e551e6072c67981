import NIOCore

/// What `CEPH_OSD_OP_LIST_WATCHERS` returns: the object's watchers.
///
/// Layout (ceph/ceph `src/osd/osd_types.h`, `obj_list_watch_response_t` and
/// `watch_item_t`; read back by `CB_ObjectOperation_decodewatchers` in
/// `src/osdc/Objecter.h`): a versioned struct, version 1, compat 1, holding a list —
/// u32 count, then per watcher a `watch_item_t`: versioned, version 2, compat 1:
/// `entity_name_t` (u8 type, i64 number), u64 cookie, u32 timeout in seconds, and from
/// version 2 the watcher's `entity_addr_t`.
package struct WatcherList: Hashable, Sendable {
    /// One watch on the object (`watch_item_t`).
    package struct Watcher: Hashable, Sendable {
        /// Who watches: `client.<global id>`.
        package var entity: NumericEntityName
        package var cookie: UInt64
        package var timeoutSeconds: UInt32
        /// The watcher's address (nil from a version-1 item).
        package var address: WatcherAddress?

        package init(entity: NumericEntityName, cookie: UInt64, timeoutSeconds: UInt32, address: WatcherAddress? = nil) {
            self.entity = entity
            self.cookie = cookie
            self.timeoutSeconds = timeoutSeconds
            self.address = address
        }
    }

    package var watchers: [Watcher]

    package init(watchers: [Watcher]) {
        self.watchers = watchers
    }

    /// Fewest bytes a `watch_item_t` takes: envelope 6, name 9, cookie 8, timeout 4.
    static let minimumItemSize = 27

    /// Decodes a list-watchers output; it must be consumed exactly.
    package static func decode(_ output: ByteBuffer) throws -> WatcherList {
        try output.decodeExactly("list_watchers") { buffer in
            try buffer.readDencVersioned("obj_list_watch_response_t", understands: 1) { body, _ in
                let watchers = try body.readDencArray(minimumElementSize: minimumItemSize) { item in
                    try item.readDencVersioned("watch_item_t", understands: 2) { fields, version in
                        let entity = try fields.readDencNumericEntityName()
                        let cookie = try fields.readDencU64()
                        let timeout = try fields.readDencU32()
                        let address = version >= 2 ? try WatcherAddress.read(from: &fields) : nil
                        return Watcher(entity: entity, cookie: cookie, timeoutSeconds: timeout, address: address)
                    }
                }
                return WatcherList(watchers: watchers)
            }
        }
    }

    /// Writes the output as a Pacific OSD does to a client with `MSG_ADDR2`.
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencArray(watchers) { out, watcher in
                out.writeDencVersioned(version: 2, compat: 1) { fields in
                    fields.writeDencNumericEntityName(watcher.entity)
                    fields.writeDencU64(watcher.cookie)
                    fields.writeDencU32(watcher.timeoutSeconds)
                    (watcher.address ?? WatcherAddress(type: 0, nonce: 0, family: 0, socketData: [])).write(to: &fields)
                }
            }
        }
    }
}

/// An `entity_addr_t` as a watcher list carries it: just enough to show where a
/// watcher is (`rados listwatchers` prints it in the legacy `ip:port/nonce` form).
///
/// Wire forms (ceph/ceph `src/msg/msg_types.h`, `entity_addr_t::encode` / `decode`):
/// - marker byte 1, then a versioned struct (version 1, compat 1): u32 type, u32 nonce,
///   u32 length of the socket address, then — if non-zero — its u16 family
///   (little-endian) and the rest of the `sockaddr` as raw bytes (port big-endian);
///   like Ceph we refuse a length below 2 or above the family's `sockaddr` size;
/// - marker byte 0 (legacy): u8 and u16 (ignored), u32 nonce, then a 128-byte
///   `sockaddr_storage` whose family is big-endian.
///
/// Local to the watch ops: the messenger's `EntityAddress` (branch `msgr`) can replace
/// it once merged.
package struct WatcherAddress: Hashable, Sendable, CustomStringConvertible {
    /// Address type: none 0, legacy 1, msgr2 2, any 3.
    package var type: UInt32
    package var nonce: UInt32
    /// `AF_INET` 2, `AF_INET6` 10, 0 for none.
    package var family: UInt16
    /// The `sockaddr` after its family field (for IPv4: port, address, padding).
    package var socketData: [UInt8]

    package init(type: UInt32, nonce: UInt32, family: UInt16, socketData: [UInt8]) {
        self.type = type
        self.nonce = nonce
        self.family = family
        self.socketData = socketData
    }

    /// Longest socket address Ceph accepts in the new form: its address union holds at
    /// most a `sockaddr_in6` (28 bytes); an IPv4 address may not exceed `sockaddr_in` (16).
    static let maximumSocketAddress = 28
    static let maximumIPv4SocketAddress = 16
    static let familyIPv4: UInt16 = 2
    static let familyIPv6: UInt16 = 10

    package var port: UInt16? {
        guard family == Self.familyIPv4 || family == Self.familyIPv6, socketData.count >= 2 else { return nil }
        return UInt16(socketData[0]) << 8 | UInt16(socketData[1])
    }

    /// `ip:port/nonce`, `[ipv6]:port/nonce`, or `-` with no address (Ceph's
    /// `entity_addr_t::get_legacy_str`).
    package var description: String {
        switch family {
        case Self.familyIPv4 where socketData.count >= 6:
            let ip = socketData[2..<6].map(String.init).joined(separator: ".")
            return "\(ip):\(port ?? 0)/\(nonce)"
        case Self.familyIPv6 where socketData.count >= 22:
            return "[\(Self.ipv6Text(Array(socketData[6..<22])))]:\(port ?? 0)/\(nonce)"
        default:
            return "-"
        }
    }

    package static func read(from buffer: inout ByteBuffer) throws -> WatcherAddress {
        let start = buffer
        let marker = try buffer.readDencU8()
        switch marker {
        case 0:
            _ = try buffer.readDencFixed(3)
            let nonce = try buffer.readDencU32()
            var storage = try buffer.readDencFixed(128)
            let family = storage.readInteger(endianness: .big, as: UInt16.self) ?? 0
            let data = Array(storage.readableBytesView)
            return WatcherAddress(type: family == 0 ? 0 : 1, nonce: nonce, family: family, socketData: data)
        case 1:
            return try buffer.readDencVersioned("entity_addr_t", understands: 1) { body, _ in
                let type = try body.readDencU32()
                let nonce = try body.readDencU32()
                let length = try body.readDencLength(limit: maximumSocketAddress)
                guard length > 0 else {
                    return WatcherAddress(type: type, nonce: nonce, family: 0, socketData: [])
                }
                guard length >= 2 else {
                    throw DencError(.invalidValue("socket address of \(length) byte"), at: body)
                }
                let family = try body.readDencU16()
                guard family != familyIPv4 || length <= maximumIPv4SocketAddress else {
                    throw DencError(.invalidValue("IPv4 socket address of \(length) bytes"), at: body)
                }
                let data = try body.readDencFixed(length - 2)
                return WatcherAddress(type: type, nonce: nonce, family: family, socketData: Array(data.readableBytesView))
            }
        default:
            throw DencError(.invalidValue("entity_addr_t marker \(marker)"), at: start, context: ["entity_addr_t"])
        }
    }

    /// Writes the marker-1 form.
    package func write(to buffer: inout ByteBuffer) {
        buffer.writeDencU8(1)
        buffer.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencU32(type)
            body.writeDencU32(nonce)
            if family == 0 && socketData.isEmpty {
                body.writeDencU32(0)
            } else {
                body.writeDencU32(UInt32(truncatingIfNeeded: 2 + socketData.count))
                body.writeDencU16(family)
                body.writeBytes(socketData)
            }
        }
    }

    /// RFC 5952 text: lowercase hex groups, the longest run of two or more zero groups
    /// shortened to `::`.
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
