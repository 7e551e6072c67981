import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// The requests librbd sends to the exclusive-lock owner and the owner's progress and
/// completion messages, byte by byte (`WatchNotifyTypes.cc`, Pacific's version 7), with
/// older message versions decoded as librbd decodes them.
@Suite struct ImageNotifyOperationsTests {
    static let id = ImageNotify.AsyncRequestID(client: .init(globalID: 4242, handle: 0x1_0000_0001), requestID: 3)
    static let idBytes: [UInt8] = [0x92, 0x10, 0, 0, 0, 0, 0, 0]  // ClientId.gid 4242
        + [1, 0, 0, 0, 1, 0, 0, 0]  // ClientId.handle 0x1_0000_0001
        + [3, 0, 0, 0, 0, 0, 0, 0]  // request id 3
    /// `UserSnapshotNamespace`: a versioned struct (v1, compat 1, 4 bytes) holding type 0.
    static let userNamespace: [UInt8] = [1, 1, 4, 0, 0, 0, 0, 0, 0, 0]

    static func message(_ body: [UInt8], version: UInt8 = 7) -> [UInt8] {
        [version, 1] + withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init) + body
    }

    @Test func snapCreateCarriesNameNamespaceIDAndFlags() throws {
        let request = ImageNotify.OwnerRequest.snapCreate(Self.id, name: "s1", namespace: .user, flags: 2)
        let bytes = Array(ImageNotify.encode(request).readableBytesView)
        let body: [UInt8] = [8, 0, 0, 0]  // op: SNAP_CREATE
            + [2, 0, 0, 0, 0x73, 0x31]  // name "s1"
            + Self.userNamespace
            + Self.idBytes
            + [2, 0, 0, 0, 0, 0, 0, 0]  // flags: SKIP_NOTIFY_QUIESCE
        #expect(bytes == Self.message(body))
        let decoded = try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: bytes)))
        #expect(decoded == request)
        #expect(decoded?.asyncID == Self.id)
    }

    @Test func olderSnapCreatesHaveNoIDAndMaybeNoNamespace() throws {
        // Version 4: the name only. Version 5: the namespace after it (as from v6 on).
        let v4 = Self.message([8, 0, 0, 0, 1, 0, 0, 0, 0x61], version: 4)
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: v4))) == .snapCreate(nil, name: "a", namespace: .user, flags: 0))
        let group: [UInt8] = [1, 1, 8, 0, 0, 0, 1, 0, 0, 0, 9, 9, 9, 9]  // type 1 and its fields
        let v5 = Self.message([8, 0, 0, 0, 1, 0, 0, 0, 0x61] + group, version: 5)
        let decoded = try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: v5)))
        #expect(decoded == .snapCreate(nil, name: "a", namespace: .init(type: 1, fields: ByteBuffer(bytes: [9, 9, 9, 9])), flags: 0))
        #expect(decoded.map(Image.runsForOthers) == false, "only user snapshots are run for others")
    }

    @Test func resizeAndFlatten() throws {
        let resize = ImageNotify.OwnerRequest.resize(Self.id, size: 24 << 20, allowShrink: false)
        let body: [UInt8] = [7, 0, 0, 0]  // op: RESIZE
            + [0, 0, 0x80, 1, 0, 0, 0, 0]  // size 24 MiB
            + Self.idBytes
            + [0]  // allow_shrink
        #expect(Array(ImageNotify.encode(resize).readableBytesView) == Self.message(body))
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ImageNotify.encode(resize))) == resize)
        // Before version 4 there was no flag, and shrinking was allowed.
        let v3 = Self.message([7, 0, 0, 0] + [0, 0, 0x80, 1, 0, 0, 0, 0] + Self.idBytes, version: 3)
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: v3))) == .resize(Self.id, size: 24 << 20, allowShrink: true))

        let flatten = ImageNotify.OwnerRequest.flatten(Self.id)
        #expect(Array(ImageNotify.encode(flatten).readableBytesView) == Self.message([6, 0, 0, 0] + Self.idBytes))
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ImageNotify.encode(flatten))) == flatten)
    }

    @Test func snapshotRequestsCarryTheirIDAfterTheNamespace() throws {
        let rename = ImageNotify.OwnerRequest.snapRename(Self.id, snapID: 5, newName: "b", namespace: .user)
        let body: [UInt8] = [11, 0, 0, 0]  // op: SNAP_RENAME
            + [5, 0, 0, 0, 0, 0, 0, 0]  // snap id 5
            + [1, 0, 0, 0, 0x62]  // new name "b"
            + Self.userNamespace
            + Self.idBytes
        #expect(Array(ImageNotify.encode(rename).readableBytesView) == Self.message(body))
        for request in [rename, .snapRemove(Self.id, name: "x", namespace: .user), .snapProtect(Self.id, name: "x", namespace: .user), .snapUnprotect(Self.id, name: "x", namespace: .user)] {
            #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ImageNotify.encode(request))) == request)
            #expect(request.asyncID == Self.id)
        }
        // Early Pacific clients end a version 7 snapshot request after the namespace;
        // before version 6 there was no namespace (a user snapshot).
        let v7 = Self.message([9, 0, 0, 0, 1, 0, 0, 0, 0x78] + Self.userNamespace)
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: v7))) == .snapRemove(nil, name: "x", namespace: .user))
        let v5 = Self.message([9, 0, 0, 0, 1, 0, 0, 0, 0x78], version: 5)
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: v5))) == .snapRemove(nil, name: "x", namespace: .user))
    }

    /// Payloads librbd 16.2.15 sent us as lock owner (`rbd snap create`, `rbd snap rm`,
    /// `rbd resize --size 24M`, `rbd flatten`), as the integration tests record them.
    @Test func requestsRecordedFromRbd() throws {
        func decode(_ op: UInt8, _ hex: String) throws -> ImageNotify.OwnerRequest? {
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(try #require(UInt8(hex[index..<next], radix: 16)))
                index = next
            }
            return try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: Self.message([op, 0, 0, 0] + bytes))))
        }
        func id(_ gid: UInt64, _ handle: UInt64) -> ImageNotify.AsyncRequestID { .init(client: .init(globalID: gid, handle: handle), requestID: 1) }
        #expect(try decode(8, "02000000733101010400000000000000a010000000000000a0560130e47f000001000000000000000000000000000000")
            == .snapCreate(id(4256, 0x7fe4_3001_56a0), name: "s1", namespace: .user, flags: 0))
        #expect(try decode(9, "04000000676f6e6501010400000000000000ac10000000000000c03d02c0217f00000100000000000000")
            == .snapRemove(id(4268, 0x7f21_c002_3dc0), name: "gone", namespace: .user))
        #expect(try decode(7, "0000800100000000a210000000000000a01d0218d87f0000010000000000000000")
            == .resize(id(4258, 0x7fd8_1802_1da0), size: 24 << 20, allowShrink: false))
        #expect(try decode(6, "b21000000000000010d904f01a7f00000100000000000000") == .flatten(id(4274, 0x7f1a_f004_d910)))
    }

    @Test func progressAndCompletion() throws {
        let complete = ImageNotify.asyncComplete(Self.id, result: -17)
        #expect(Array(complete.readableBytesView) == Self.message([5, 0, 0, 0] + Self.idBytes + [0xef, 0xff, 0xff, 0xff]))
        #expect(try ImageNotify.decodeAsyncUpdate(try ImageNotify.decodeMessage(complete)) == .complete(Self.id, result: -17))
        let progress = ImageNotify.asyncProgress(Self.id, offset: 1, total: 4)
        #expect(Array(progress.readableBytesView) == Self.message([4, 0, 0, 0] + Self.idBytes + [1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]))
        #expect(try ImageNotify.decodeAsyncUpdate(try ImageNotify.decodeMessage(progress)) == .progress(Self.id, offset: 1, total: 4))
        #expect(try ImageNotify.decodeAsyncUpdate(try ImageNotify.decodeMessage(ImageNotify.headerUpdate())) == nil)
        #expect(try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ImageNotify.headerUpdate())) == nil)
    }

    @Test func truncatedRequestsAreErrors() throws {
        // A resize whose request id stops after the gid.
        let short = Self.message([7, 0, 0, 0] + [0, 0, 0x80, 1, 0, 0, 0, 0] + Array(Self.idBytes.prefix(8)) + [0])
        #expect(throws: DencError.self) { try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: short))) }
        // A snapshot name longer than the message.
        let name = Self.message([9, 0, 0, 0, 0xff, 0xff, 0, 0, 0x78], version: 6)
        #expect(throws: DencError.self) { try ImageNotify.decodeOwnerRequest(try ImageNotify.decodeMessage(ByteBuffer(bytes: name))) }
    }
}
