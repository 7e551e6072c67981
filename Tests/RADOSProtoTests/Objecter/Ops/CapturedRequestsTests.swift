import NIOCore
import Testing
@testable import RADOSProto

/// What Pacific's librados put on the wire (Debian's Ceph 16.2.15 `rados` and `rbd`
/// tools, msgr2 crc mode, captured with `strace` against a dev cluster): each op's
/// 38-byte `ceph_osd_op` from the `MOSDOp` front and its input from the data segment,
/// next to what our builders produce for the same call.
@Suite struct CapturedRequestsTests {
    static func bytes(_ hex: String) -> [UInt8] { CapturedRepliesTests.bytes(hex) }

    /// Expects `op` to encode to exactly the captured op and input.
    static func expectSame(_ op: OSDOp, op captured: String, input: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(wireBytes(op) == bytes(captured), sourceLocation: sourceLocation)
        #expect(op.input.bytes == bytes(input), sourceLocation: sourceLocation)
    }

    @Test func omapOps() {
        // `rados listomapvals obj1`: start_after "", max 1024, no prefix
        Self.expectSame(
            .omapGetValues(startAfter: "", filterPrefix: "", maxReturn: 1024),
            op: "1212000000000000000000000000100000000000000000000000000000000000000010000000",
            input: "00000000" + "0004000000000000" + "00000000")
        // `rados listomapkeys obj1`
        Self.expectSame(
            .omapGetKeys(startAfter: "", maxReturn: 1024),
            op: "11120000000000000000000000000c000000000000000000000000000000000000000c000000",
            input: "00000000" + "0004000000000000")
        // `rados getomapval obj1 alpha`
        Self.expectSame(
            .omapGetValues(forKeys: ["alpha"]),
            op: "14120000000000000000000000000d000000000000000000000000000000000000000d000000",
            input: "01000000" + "05000000616c706861")
        // `rados setomapval obj2 k9 v9`
        Self.expectSame(
            .omapSetValues(["k9": ByteBuffer(string: "v9")]),
            op: "1522000000000000000000000000100000000000000000000000000000000000000010000000",
            input: "01000000" + "020000006b39" + "020000007639")
        // `rados rmomapkey obj2 k9`
        Self.expectSame(
            .omapRemoveKeys(["k9"]),
            op: "18220000000000000000000000000a000000000000000000000000000000000000000a000000",
            input: "01000000" + "020000006b39")
        // `rados setomapheader obj2 HH`
        Self.expectSame(
            .omapSetHeader(ByteBuffer(string: "HH")),
            op: "1622000000000000000000000000020000000000000000000000000000000000000002000000",
            input: "4848")
        // `rados clearomap obj2`
        Self.expectSame(.omapClear, op: "17220000" + String(repeating: "00", count: 34), input: "")
    }

    @Test func pgNamespacedListing() {
        // `rados ls`: the first request (PG 1.0) starts at the min cursor; the next one
        // (PG 1.10) continues at the cursor the OSD returned. Both at osdmap epoch 13.
        let opBytes = "0515" + "00000000" + "0004000000000000" + "0d000000" + String(repeating: "00", count: 16) + "27000000"
        Self.expectSame(
            .pgNamespacedList(maxEntries: 1024, cursor: .min, startEpoch: 13),
            op: opBytes,
            input: "040321000000" + "00000000" + "00000000" + "0000000000000000" + "00000000" + "00" + "00000000" + "0000000000000080")
        Self.expectSame(
            .pgNamespacedList(maxEntries: 1024, cursor: HObject(name: "", hash: 0x10, pool: 1), startEpoch: 13),
            op: opBytes,
            input: "040321000000" + "00000000" + "00000000" + "feffffffffffffff" + "10000000" + "00" + "00000000" + "0100000000000000")
        // The request flags were 0x420014: READ | IGNORE_OVERLAY, plus ONDISK | KNOWN_REDIR,
        // which librados sets on every request. No PGOP.
        let flags = PGNamespacedList.requestFlags.union([.onDisk, .knownRedirect])
        #expect(flags.rawValue == 0x0042_0014)
    }

    @Test func watchAndNotify() {
        let watchCookie: UInt64 = 0x0000_557E_C547_38A0
        // `rados watch obj1`: register, two pings, unwatch; all at generation 0, timeout 0.
        Self.expectSame(
            .watch(cookie: watchCookie, .watch),
            op: "0f22" + "00000000" + "a03847c57e550000" + "0000000000000000" + "03" + "00000000" + "00000000" + "000000" + "00000000",
            input: "")
        Self.expectSame(
            .watch(cookie: watchCookie, .ping),
            op: "0f22" + "00000000" + "a03847c57e550000" + "0000000000000000" + "07" + "00000000" + "00000000" + "000000" + "00000000",
            input: "")
        Self.expectSame(
            .watch(cookie: watchCookie, .unwatch),
            op: "0f22" + "00000000" + "a03847c57e550000" + String(repeating: "00", count: 20) + "00000000",
            input: "")
        // The watcher acknowledging notify 0xd00000002, echoing the notify's payload.
        let payload = ByteBuffer(bytes: Self.bytes("0c00000070696e672d7061796c6f6164"))  // the encoded string "ping-payload"
        Self.expectSame(
            .notifyAck(notifyID: 0x0000_000D_0000_0002, cookie: watchCookie, reply: payload),
            op: "0712" + "00000000" + String(repeating: "00", count: 28) + "24000000",
            input: "020000000d000000" + "a03847c57e550000" + "10000000" + "0c00000070696e672d7061796c6f6164")
        // `rados notify obj1 ping-payload`: prot_ver 1, librados's default timeout of 10 s.
        Self.expectSame(
            .notify(cookie: 0x0000_555D_8C34_7E60, payload: payload, timeout: 10),
            op: "0612" + "00000000" + "607e348c5d550000" + String(repeating: "00", count: 20) + "1c000000",
            input: "01000000" + "0a000000" + "10000000" + "0c00000070696e672d7061796c6f6164")
    }

    @Test func compareXattr() {
        // librados C API (`rados_read_op_cmpxattr`, via ctypes): "value1" EQ attr1, and
        // "zzz" GT attr1 (true: the sent value is the left operand).
        Self.expectSame(
            .compareXattr("attr1", .equal, .bytes(ByteBuffer(string: "value1"))),
            op: "0313" + "00000000" + "05000000" + "06000000" + "01" + "01" + String(repeating: "00", count: 18) + "0b000000",
            input: "6174747231" + "76616c756531")
        Self.expectSame(
            .compareXattr("attr1", .greaterThan, .bytes(ByteBuffer(string: "zzz"))),
            op: "0313" + "00000000" + "05000000" + "03000000" + "03" + "01" + String(repeating: "00", count: 18) + "08000000",
            input: "6174747231" + "7a7a7a")
    }

    @Test func assertVersion() {
        // python3-rados: a write op asserting version 7 (then a setxattr) on obj1, whose
        // version was 5: the OSD answered -EOVERFLOW (75) for the assert.
        Self.expectSame(
            .assertVersion(7),
            op: "0812" + "00000000" + "0000000000000000" + "0700000000000000" + String(repeating: "00", count: 12) + "00000000",
            input: "")
    }

    @Test func allocHintAsLibrbdSendsIt() {
        // `rbd import` of a 4 MiB image: the hint before the first write to a data object.
        Self.expectSame(
            .setAllocHint(expectedObjectSize: 4 << 20, expectedWriteSize: 4 << 20, opFlags: []),
            op: "2322" + "00000000" + "0000400000000000" + "0000400000000000" + "00000000" + String(repeating: "00", count: 8) + "00000000",
            input: "")
    }
}
