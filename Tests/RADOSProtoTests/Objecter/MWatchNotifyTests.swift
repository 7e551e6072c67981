import NIOCore
import Testing
@testable import RADOSProto

@Suite struct MWatchNotifyTests {
    /// A notify for watch cookie 0x10, notify id 0x20, payload "hi", from client.4100.
    static let fixture: [UInt8] =
        [1]  // inner protocol version
        + [1]  // opcode CEPH_WATCH_EVENT_NOTIFY
        + le(UInt64(0x10))  // cookie
        + le(UInt64(0))  // ver (unused)
        + le(UInt64(0x20))  // notify_id
        + le(UInt32(2)) + [0x68, 0x69]  // payload "hi"
        + le(Int32(0))  // return code (v2)
        + le(UInt64(4100))  // notifier gid (v3)

    @Test func decodesVersion3() throws {
        let message = try MWatchNotify.decode(front: ByteBuffer(bytes: Self.fixture), version: 3)
        #expect(message.opcode == .notify)
        #expect(message.cookie == 0x10 && message.notifyID == 0x20)
        #expect(String(buffer: message.payload) == "hi")
        #expect(message.returnCode == 0 && message.notifierGID == 4100)
        var out = ByteBuffer()
        message.encodeFront(into: &out)
        #expect(out.bytes == Self.fixture)
        #expect(MWatchNotify.messageType == 44)
    }

    @Test func olderVersionsAndInnerVersionZero() throws {
        let v1 = Array(Self.fixture.dropLast(12))
        let message = try MWatchNotify.decode(front: ByteBuffer(bytes: v1), version: 1)
        #expect(message.returnCode == 0 && message.notifierGID == 0)
        // Inner version 0 has no payload.
        let bare: [UInt8] = [0, 3] + le(UInt64(1)) + le(UInt64(0)) + le(UInt64(2)) + le(Int32(-107)) + le(UInt64(0))
        let disconnect = try MWatchNotify.decode(front: ByteBuffer(bytes: bare), version: 3)
        #expect(disconnect.opcode == .disconnect && disconnect.returnCode == -107)
        #expect(disconnect.payload.readableBytes == 0)
        #expect(MWatchNotify.Opcode(rawValue: 2) == .notifyComplete)
        #expect(MWatchNotify.Opcode(rawValue: 9).rawValue == 9)
    }

    /// A notify-complete keeps the front's bufferlist empty and carries the acks in the
    /// data segment.
    @Test func notifyCompleteCarriesItsResultInTheDataSegment() throws {
        let front: [UInt8] = [1, 2] + le(UInt64(0x77)) + le(UInt64(0)) + le(UInt64(0x20))  // v1, NOTIFY_COMPLETE, cookie, ver, notify_id
            + le(UInt32(0))  // empty front payload
            + le(Int32(-110))  // -ETIMEDOUT
            + le(UInt64(4100))  // notifier gid
        let message = try MWatchNotify.decode(
            front: ByteBuffer(bytes: front), data: ByteBuffer(bytes: NotifyCompletionTests.fixture), version: 3
        )
        #expect(message.opcode == .notifyComplete && message.returnCode == -110)
        #expect(message.payload.readableBytes == 0)
        let completion = try message.completion()
        #expect(completion.acks.count == 2 && completion.timedOut.count == 1)
        var out = ByteBuffer()
        message.encodeFront(into: &out)
        #expect(out.bytes == front)
        #expect(message.data.bytes == NotifyCompletionTests.fixture)
    }

    @Test func trailingBytesAndTruncation() {
        #expect(throws: DencError.self) { try MWatchNotify.decode(front: ByteBuffer(bytes: Self.fixture + [0]), version: 3) }
        // A newer message version may carry more.
        #expect(throws: Never.self) { try MWatchNotify.decode(front: ByteBuffer(bytes: Self.fixture + [0]), version: 4) }
        expectEveryTruncationThrows(Self.fixture) { _ = try MWatchNotify.decode(front: $0, version: 3) }
    }
}
