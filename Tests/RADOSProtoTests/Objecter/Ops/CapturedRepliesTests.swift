import NIOCore
import Testing
@testable import RADOSProto

/// Bytes a real Pacific OSD sent (Debian's Ceph 16.2.15, memstore, one OSD, msgr2 in crc
/// mode), captured with `strace` on `rados` / `rbd` commands against a dev cluster
/// (`scripts/dev-cluster.sh`) and cut out of the msgr2 MESSAGE frames: each reply's
/// front (`MOSDOpReply` version 8) and data segment (the op outputs). Each test runs
/// the full path: ``MOSDOpReply/decode(front:version:)``, ``MOSDOpReply/outputs(from:)``,
/// then the op's decoder. Object `obj1` in pool 1 holds 3000 random bytes, xattr
/// `attr1` = "value1", omap {alpha: "AAA", beta: ""} and header "HDR".
@Suite struct CapturedRepliesTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return result
    }

    /// Decodes a captured reply and returns its only op's output.
    static func output(front: String, data: String, code: OSDOpCode) throws -> ByteBuffer {
        let reply = try MOSDOpReply.decode(front: ByteBuffer(bytes: bytes(front)), version: 8)
        #expect(reply.ops.map(\.code) == [code])
        #expect(reply.returnValues == [0])
        let outputs = try reply.outputs(from: ByteBuffer(bytes: bytes(data)))
        return outputs[0]
    }

    /// The layout of the one-op `obj1` reply fronts below (pool 1, PG 1.1f, epoch 13),
    /// field by field, checked against the captured stat reply; the others differ only
    /// in the op code, the op's echoed arguments and its output length.
    static func obj1Front(op: String, outputLength: UInt8) -> String {
        "040000006f626a31" + "0101000000000000001f000000ffffffff"  // "obj1", pg_t 1.1f
            + "1500400000000000" + "00000000"  // flags ACK | ONDISK | READ | KNOWN_REDIR, result 0
            + "050000000000000000000000" + "0d000000" + "01000000"  // legacy version, epoch 13, one op
            + op + "00000000" + String(repeating: "00", count: 28) + String(outputLength, radix: 16).leftPadded() + "000000"
            + "00000000" + "00000000"  // retry attempt, the op's return value
            + "0000000000000000" + "00000000" + "0500000000000000"  // replay version, user version 5
            + "00" + String(repeating: "00", count: 24)  // no redirect, empty trace
    }

    @Test func stat() throws {
        // `rados stat obj1`: "size 3000", mtime 2026-11-29T16:44:06
        let front = "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000002120000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000"
        let data = "b80b000000000000"  // size 3000
            + "56560c6b"  // mtime seconds 0x6b0c5656
            + "bcc8d02b"  // mtime nanoseconds
        let stat = try ObjectStat.decode(Self.output(front: front, data: data, code: .stat))
        #expect(stat.size == 3000)
        #expect(stat.mtime == UTime(rawSeconds: 0x6B0C_5656, nanoseconds: 0x2BD0_C8BC))
        #expect(front == Self.obj1Front(op: "0212", outputLength: 16))
    }

    @Test func getxattrs() throws {
        // `rados listxattr obj1`
        let data = "01000000"  // one attribute
            + "05000000" + "6174747231"  // "attr1"
            + "06000000" + "76616c756531"  // "value1"
        let attributes = try ObjectXattrs.decode(Self.output(front: "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000002130000000000000000000000000000000000000000000000000000000000000000170000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000", data: data, code: .getXattrs))
        #expect(attributes.mapValues { String(buffer: $0) } == ["attr1": "value1"])
    }

    @Test func omapGetValues() throws {
        // `rados listomapvals obj1` (librados asks for 512 at a time)
        let front = "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000012120000000000000000000000001000000000000000000000000000000000000000210000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000"
        let data = "02000000"  // two pairs
            + "05000000" + "616c706861" + "03000000" + "414141"  // alpha → "AAA"
            + "04000000" + "62657461" + "00000000"  // beta → ""
            + "00"  // truncated: false
        let page = try OmapValuesPage.decode(Self.output(front: front, data: data, code: .omapGetValues), maxReturn: 512)
        #expect(page.values.mapValues { String(buffer: $0) } == ["alpha": "AAA", "beta": ""])
        #expect(page.lastKey == "beta" && !page.more)
    }

    @Test func omapGetKeysValuesByKeysAndHeader() throws {
        let keysFront = "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000011120000000000000000000000000c00000000000000000000000000000000000000160000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000"
        let keysData = "02000000" + "05000000616c706861" + "0400000062657461" + "00"  // {alpha, beta}, not truncated
        let keys = try OmapKeysPage.decode(Self.output(front: keysFront, data: keysData, code: .omapGetKeys), maxReturn: 512)
        #expect(keys == OmapKeysPage(keys: ["alpha", "beta"], more: false))

        let byKeysFront = "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000014120000000000000000000000000d00000000000000000000000000000000000000140000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000"
        let byKeysData = "01000000" + "05000000616c706861" + "03000000414141"  // {alpha: "AAA"}, no bool
        let values = try OmapValues.decode(Self.output(front: byKeysFront, data: byKeysData, code: .omapGetValuesByKeys))
        #expect(values.mapValues { String(buffer: $0) } == ["alpha": "AAA"])

        // The header comes raw, no length prefix.
        let header = try Self.output(front: "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000013120000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000", data: "484452", code: .omapGetHeader)
        #expect(String(buffer: header) == "HDR")
    }

    @Test func listSnaps() throws {
        let data = "02012a000000"  // obj_list_snap_response_t v2, compat 1, 42 bytes
            + "01000000"  // one clone
            + "010118000000" + "feffffffffffffff"  // clone_info v1: the head (CEPH_NOSNAP)
            + "00000000" + "00000000"  // no snaps, no overlaps
            + "b80b000000000000"  // size 3000
            + "0000000000000000"  // seq 0
        let list = try ObjectSnapList.decode(Self.output(front: "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d000000010000000a120000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000", data: data, code: .listSnaps))
        #expect(list == ObjectSnapList(clones: [.init(cloneID: ObjectSnapList.noSnap, snaps: [], overlaps: [], size: 3000)], seq: 0))
    }

    @Test func listWatchers() throws {
        // `rados listwatchers obj1` printed "watcher=127.0.0.1:0/1182557200 client.4420 cookie=94348895443552"
        let data = "010142000000"  // obj_list_watch_response_t v1, 66 bytes
            + "01000000"  // one watcher
            + "020138000000"  // watch_item_t v2, compat 1, 56 bytes
            + "08" + "4411000000000000"  // client.4420
            + "60da6550cf550000"  // cookie 94348895443552
            + "1e000000"  // timeout 30 s
            + "01" + "01011c000000"  // entity_addr_t marker 1, envelope v1, 28 bytes
            + "03000000"  // type ANY
            + "10647c46"  // nonce 1182557200
            + "10000000" + "0200" + "0000" + "7f000001" + "0000000000000000"  // sockaddr_in: AF_INET, port 0, 127.0.0.1
        let list = try WatcherList.decode(Self.output(front: "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d0000000100000009120000000000000000000000000000000000000000000000000000000000000000480000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000", data: data, code: .listWatchers))
        #expect(list.watchers.count == 1)
        let watcher = list.watchers[0]
        #expect(watcher.entity == .client(4420) && watcher.cookie == 94_348_895_443_552 && watcher.timeoutSeconds == 30)
        #expect(watcher.address?.description == "127.0.0.1:0/1182557200")
        #expect(watcher.address?.type == 3)
    }

    @Test func notifyRoundTrip() throws {
        // `rados notify obj1 hello-watchers` with one `rados watch obj1` (client.4420) running.
        let opFront = "040000006f626a310101000000000000001f000000ffffffff1500400000000000000000000500000000000000000000000d00000001000000061200000000d0ed1c640e5600000000000000000000000000000000000000000000080000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000000"
        let notifyID = try NotifyID.decode(Self.output(front: opFront, data: "010000000d000000", code: .notify))
        #expect(notifyID == 55_834_574_849)  // what the watcher printed

        // What the watcher received: the notifier's payload in the front.
        let watcherFront = "01" + "01"  // inner version 1, CEPH_WATCH_EVENT_NOTIFY
            + "60da6550cf550000"  // the watch's cookie
            + "0500000000000000"  // ver: the object's version
            + "010000000d000000"  // notify id
            + "12000000" + "0e00000068656c6c6f2d7761746368657273"  // payload: the encoded string "hello-watchers"
            + "00000000"  // return code 0
            + "4a11000000000000"  // notifier client.4426
        let event = try MWatchNotify.decode(front: ByteBuffer(bytes: Self.bytes(watcherFront)), version: 3)
        #expect(event.opcode == .notify && event.cookie == 94_348_895_443_552 && event.notifyID == notifyID)
        #expect(event.notifierGID == 4426 && event.objectVersion == 5)
        #expect(event.payload.readableBytes == 18)

        // What the notifier received: an empty front payload, the result in the data segment.
        let completeFront = "01" + "02"  // inner version 1, CEPH_WATCH_EVENT_NOTIFY_COMPLETE
            + "d0ed1c640e560000"  // the notifier's linger cookie (the notify op's ceph_osd_op.notify.cookie)
            + "0500000000000000" + "010000000d000000"  // ver, notify id
            + "00000000"  // empty front payload
            + "00000000"  // return code 0
            + "4a11000000000000"  // notifier client.4426
        let completeData = "01000000"  // one ack
            + "4411000000000000" + "60da6550cf550000"  // from client.4420, cookie
            + "12000000" + "0e00000068656c6c6f2d7761746368657273"  // its reply: `rados watch` echoes the payload
            + "00000000"  // no timeouts
        let complete = try MWatchNotify.decode(
            front: ByteBuffer(bytes: Self.bytes(completeFront)), data: ByteBuffer(bytes: Self.bytes(completeData)), version: 3
        )
        #expect(complete.opcode == .notifyComplete && complete.payload.readableBytes == 0)
        let result = try complete.completion()
        #expect(result.acks.map(\.gid) == [4420] && result.acks.map(\.cookie) == [94_348_895_443_552])
        #expect(result.acks[0].reply == event.payload)
        #expect(result.timedOut.isEmpty)
        // Our encoder reproduces both fronts byte for byte.
        var out = ByteBuffer()
        complete.encodeFront(into: &out)
        #expect(out.bytes == Self.bytes(completeFront))
        out.clear()
        event.encodeFront(into: &out)
        #expect(out.bytes == Self.bytes(watcherFront))
    }

    @Test func pgNamespacedListing() throws {
        // `rados ls` in a pool of 32 PGs: the OSD's answer for PG 1.1a (holding rbd_info),
        // whose cursor points at the first hash of the next PG in bitwise order (0x06).
        let front = "000000000101000000000000001a000000ffffffff15004200000000000100000002000000000000000d0000000d0000000100000005150000000000040000000000000d0000000000000000000000000000000000000045000000000000000000000002000000000000000d000000020000000000000000000000000000000000000000000000000000000000000000"
        let data = "01013f000000"  // pg_nls_response_t v1, 63 bytes
            + "040321000000" + "00000000" + "00000000"  // handle: hobject_t v4, key "", name ""
            + "feffffffffffffff" + "06000000" + "00"  // snap NOSNAP, hash 0x06, not max
            + "00000000" + "0100000000000000"  // namespace "", pool 1
            + "01000000"  // one entry
            + "00000000" + "08000000" + "7262645f696e666f" + "00000000"  // "", "rbd_info", no locator
        let reply = try MOSDOpReply.decode(front: ByteBuffer(bytes: Self.bytes(front)), version: 8)
        #expect(reply.result == 1)  // this PG is exhausted
        #expect(reply.flags.contains(.ack) && reply.flags.contains(.onDisk) && reply.flags.contains(.ignoreOverlay))
        let response = try PGNamespacedListResponse.decode(reply.outputs(from: ByteBuffer(bytes: Self.bytes(data)))[0])
        #expect(response.entries == [.init(namespace: "", name: "rbd_info")])
        #expect(response.cursor == HObject(name: "", hash: 0x06, pool: 1) && !response.isEndOfPool)

        // The last PG in bitwise order (1.1f) answers with the max cursor.
        let lastData = "01013b000000" + "040321000000" + "00000000" + "00000000"  // handle: key "", name ""
            + "0000000000000000" + "00000000" + "01"  // snap 0, hash 0, max
            + "00000000" + "0000000000000080"  // namespace "", pool INT64_MIN
            + "01000000" + "00000000" + "040000006f626a31" + "00000000"  // one entry: "obj1"
        let last = try PGNamespacedListResponse.decode(ByteBuffer(bytes: Self.bytes(lastData)))
        #expect(last.isEndOfPool && last.cursor == .max)
        #expect(last.entries.map(\.name) == ["obj1"])
    }

    @Test func sparseReadOfAnRBDDataObject() throws {
        // `rbd export img -` of a 4 MiB image imported from a file holding "HELLO" at
        // 4096 and "XYZ" at 1 MiB: the OSD (memstore, 4 KiB pages) reports one extent
        // covering the pages written. The data is the image's bytes, reconstructed here
        // (the capture matched them byte for byte).
        let front = "260000007262645f646174612e3131346365363234303666382e3030303030303030303030303030303001010000000000000011000000ffffffff1500400000000000000000000200000000000000000000000d0000000100000005124000000000000000000000000010100000000000000000000000000000000000181010000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000"
        var data = Self.bytes("01000000" + "0000000000000000" + "0010100000000000"  // one extent: offset 0, length 0x101000
            + "00101000")  // then 0x101000 bytes of data
        var image = [UInt8](repeating: 0, count: 0x101000)
        image.replaceSubrange(4096..<4101, with: Array("HELLO".utf8))
        image.replaceSubrange(0x100000..<0x100003, with: Array("XYZ".utf8))
        data += image
        let reply = try MOSDOpReply.decode(front: ByteBuffer(bytes: Self.bytes(front)), version: 8)
        #expect(reply.objectName == "rbd_data.114ce62406f8.0000000000000000")
        let result = try SparseReadResult.decode(reply.outputs(from: ByteBuffer(bytes: data))[0])
        #expect(result.extents == [.init(offset: 0, length: 0x101000)])
        let dense = result.dense(offset: 0, length: 4 << 20)
        #expect(dense.readableBytes == 4 << 20)
        #expect(dense.getString(at: 4096, length: 5) == "HELLO")
        #expect(dense.getString(at: 0x100000, length: 3) == "XYZ")
        #expect(dense.getBytes(at: 0x101000, length: 16) == [UInt8](repeating: 0, count: 16))
    }
}

extension String {
    /// Two hex digits.
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}
