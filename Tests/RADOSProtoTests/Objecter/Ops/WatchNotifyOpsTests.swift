import NIOCore
import Testing
@testable import RADOSProto

@Suite struct WatchNotifyOpTests {
    @Test func watchLayout() {
        let op = OSDOp.watch(cookie: 0x1122_3344_5566_7788, .reconnect, generation: 2, timeout: 30)
        var expected: [UInt8] = [0x0F, 0x22]  // CEPH_OSD_OP_WATCH 0x220F
        expected += [0, 0, 0, 0]  // op flags
        expected += le(UInt64(0x1122_3344_5566_7788))  // watch.cookie
        expected += le(UInt64(0))  // watch.ver (unused)
        expected += [5]  // watch.op: CEPH_OSD_WATCH_OP_RECONNECT
        expected += le(UInt32(2))  // watch.gen
        expected += le(UInt32(30))  // watch.timeout
        expected += [0, 0, 0]  // rest of the union
        expected += [0, 0, 0, 0]  // no input
        #expect(wireBytes(op) == expected)
        #expect(WatchOperation.allCases.map(\.rawValue) == [0, 1, 3, 5, 7])
    }

    @Test func notifyInput() {
        let op = OSDOp.notify(cookie: 9, payload: ByteBuffer(bytes: [0xAB, 0xCD]), timeout: 10)
        var expected: [UInt8] = [0x06, 0x12]  // CEPH_OSD_OP_NOTIFY 0x1206
        expected += [0, 0, 0, 0]  // op flags
        expected += le(UInt64(9))  // notify.cookie
        expected += [UInt8](repeating: 0, count: 20)  // rest of the union
        expected += le(UInt32(14))  // payload_len
        #expect(wireBytes(op) == expected)
        let input = le(UInt32(1))  // prot_ver 1
            + le(UInt32(10))  // timeout 10 s
            + le(UInt32(2)) + [0xAB, 0xCD]  // payload bufferlist
        #expect(op.input.bytes == input)
    }

    @Test func notifyAckInput() {
        let op = OSDOp.notifyAck(notifyID: 0x55, cookie: 0x66, reply: ByteBuffer(bytes: [1]))
        #expect(wireBytes(op).prefix(2) == [0x07, 0x12])  // CEPH_OSD_OP_NOTIFY_ACK 0x1207
        // notify_id, cookie, reply bufferlist
        #expect(op.input.bytes == le(UInt64(0x55)) + le(UInt64(0x66)) + le(UInt32(1)) + [1])
        #expect(OSDOp.notifyAck(notifyID: 1, cookie: 2).input.readableBytes == 20)
        #expect(wireBytes(.listWatchers).prefix(2) == [0x09, 0x12])  // CEPH_OSD_OP_LIST_WATCHERS 0x1209
    }

    @Test func notifyIDOutput() throws {
        #expect(try NotifyID.decode(ByteBuffer(bytes: le(UInt64(0xDEAD)))) == 0xDEAD)
        expectEveryTruncationThrows(le(UInt64(0xDEAD))) { _ = try NotifyID.decode($0) }
        #expect(throws: DencError.self) { try NotifyID.decode(ByteBuffer(bytes: le(UInt64(1)) + [0])) }
    }
}

@Suite struct NotifyCompletionTests {
    static let fixture: [UInt8] =
        le(UInt32(2))  // two acks
        + le(UInt64(4100)) + le(UInt64(1)) + le(UInt32(2)) + [0x6F, 0x6B]  // client.4100 cookie 1: "ok"
        + le(UInt64(4200)) + le(UInt64(7)) + le(UInt32(0))  // client.4200 cookie 7: empty
        + le(UInt32(1))  // one timeout
        + le(UInt64(4300)) + le(UInt64(3))  // client.4300 cookie 3

    @Test func decodesAcksAndTimeouts() throws {
        let completion = try NotifyCompletion.decode(ByteBuffer(bytes: Self.fixture))
        #expect(completion.acks.map(\.gid) == [4100, 4200])
        #expect(completion.acks.map(\.cookie) == [1, 7])
        #expect(String(buffer: completion.acks[0].reply) == "ok")
        #expect(completion.timedOut == [.init(gid: 4300, cookie: 3)])
        var out = ByteBuffer()
        completion.encode(into: &out)
        #expect(out.bytes == Self.fixture)
        #expect(try NotifyCompletion.decode(ByteBuffer()) == NotifyCompletion(acks: [], timedOut: []))
    }

    @Test func truncationThrows() {
        // The empty payload is valid on its own; every other cut is not.
        for cut in 1..<Self.fixture.count {
            #expect(throws: DencError.self, "cut at \(cut)") {
                try NotifyCompletion.decode(ByteBuffer(bytes: Self.fixture[0..<cut]))
            }
        }
        #expect(throws: DencError.self) { try NotifyCompletion.decode(ByteBuffer(bytes: Self.fixture + [0])) }
    }
}

@Suite struct WatcherListTests {
    static let ipv4Address: [UInt8] =
        [1]  // entity_addr_t marker: new form
        + [1, 1] + le(UInt32(28))  // envelope v1, compat 1, 28 bytes
        + le(UInt32(2))  // type: msgr2
        + le(UInt32(0x1234))  // nonce
        + le(UInt32(16))  // sockaddr length (sockaddr_in)
        + le(UInt16(2))  // family AF_INET, little-endian
        + [0x1A, 0x85]  // port 6789, big-endian
        + [127, 0, 0, 1]  // address
        + [UInt8](repeating: 0, count: 8)  // sin_zero

    static let fixture: [UInt8] = {
        var item: [UInt8] = []
        item += [8] + le(Int64(4100))  // entity_name_t: client.4100
        item += le(UInt64(0xC00C1E))  // cookie
        item += le(UInt32(30))  // timeout_seconds
        item += ipv4Address  // addr (v2)
        let watchItem = [2, 1] + le(UInt32(item.count)) + item  // watch_item_t v2, compat 1
        let oldItem: [UInt8] = [1, 1] + le(UInt32(21)) + [8] + le(Int64(4200)) + le(UInt64(5)) + le(UInt32(0))  // v1: no addr
        let body = le(UInt32(2)) + watchItem + oldItem  // list of two
        return [1, 1] + le(UInt32(body.count)) + body  // obj_list_watch_response_t v1
    }()

    @Test func decodesWatchers() throws {
        let list = try WatcherList.decode(ByteBuffer(bytes: Self.fixture))
        #expect(list.watchers.count == 2)
        let first = list.watchers[0]
        #expect(first.entity == .client(4100))
        #expect(first.cookie == 0xC00C1E && first.timeoutSeconds == 30)
        #expect(first.address?.description == "127.0.0.1:6789/4660")
        #expect(first.address?.port == 6789)
        #expect(list.watchers[1] == WatcherList.Watcher(entity: .client(4200), cookie: 5, timeoutSeconds: 0))
        var out = ByteBuffer()
        WatcherList(watchers: [first]).encode(into: &out)
        let reread = try WatcherList.decode(out)
        #expect(reread.watchers == [first])
    }

    @Test func legacyAndIPv6Addresses() throws {
        var legacy: [UInt8] = [0, 0, 0, 0]  // marker 0, then u8 + u16 ignored
        legacy += le(UInt32(99))  // nonce
        var storage: [UInt8] = [0, 2]  // family AF_INET, big-endian
        storage += [0x1A, 0x90, 10, 0, 0, 5]  // port 6800, 10.0.0.5
        storage += [UInt8](repeating: 0, count: 128 - storage.count)
        legacy += storage
        var buffer = ByteBuffer(bytes: legacy)
        let address = try WatcherAddress.read(from: &buffer)
        #expect(address.description == "10.0.0.5:6800/99")
        #expect(address.type == 1)
        #expect(buffer.readableBytes == 0)

        var ipv6 = [UInt8](repeating: 0, count: 26)  // sockaddr_in6 after the family
        ipv6[0] = 0x1A; ipv6[1] = 0x85  // port 6789
        ipv6[6] = 0x20; ipv6[7] = 0x01; ipv6[8] = 0x0D; ipv6[9] = 0xB8  // 2001:db8::
        ipv6[21] = 1  // ...::1
        let v6 = WatcherAddress(type: 2, nonce: 1, family: 10, socketData: ipv6)
        #expect(v6.description == "[2001:db8::1]:6789/1")
        #expect(WatcherAddress.ipv6Text([UInt8](repeating: 0, count: 16)) == "::")
        #expect(WatcherAddress(type: 0, nonce: 0, family: 0, socketData: []).description == "-")
    }

    @Test func truncationAndBadMarkersThrow() {
        expectEveryTruncationThrows(Self.fixture) { _ = try WatcherList.decode($0) }
        #expect(throws: DencError.self) { try WatcherList.decode(ByteBuffer(bytes: Self.fixture + [0])) }
        var badMarker = Self.ipv4Address
        badMarker[0] = 2
        var buffer = ByteBuffer(bytes: badMarker)
        #expect(throws: DencError.self) { try WatcherAddress.read(from: &buffer) }
        // A socket address longer than sockaddr_in6 is refused.
        var long = Self.ipv4Address
        long.replaceSubrange(15..<19, with: le(UInt32(200)))
        buffer = ByteBuffer(bytes: long)
        #expect(throws: DencError.self) { try WatcherAddress.read(from: &buffer) }
        // An IPv4 address longer than sockaddr_in is refused, as Ceph does.
        var sockaddrIn6Sized: [UInt8] = [1, 1, 1] + le(UInt32(32)) + le(UInt32(2)) + le(UInt32(0))
        sockaddrIn6Sized += le(UInt32(20)) + le(UInt16(2)) + [UInt8](repeating: 0, count: 18)
        buffer = ByteBuffer(bytes: sockaddrIn6Sized)
        #expect(throws: DencError.self) { try WatcherAddress.read(from: &buffer) }
        // A one-byte socket address cannot hold the family.
        let tiny: [UInt8] = [1, 1, 1] + le(UInt32(13)) + le(UInt32(2)) + le(UInt32(0)) + le(UInt32(1)) + [2]
        buffer = ByteBuffer(bytes: tiny)
        #expect(throws: DencError.self) { try WatcherAddress.read(from: &buffer) }
    }
}
