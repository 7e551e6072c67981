import NIOCore
import Testing
@testable import RADOSProto

@Suite struct RollbackOpTests {
    @Test func rollbackCarriesTheSnapIDAndNoInput() {
        let op = OSDOp.rollback(snapID: 0x0102_0304)
        let bytes = wireBytes(op)
        #expect(bytes.count == OSDOp.encodedSize)
        #expect(bytes.prefix(2) == [0x0e, 0x22])  // CEPH_OSD_OP_ROLLBACK = MODE_WR | TYPE_DATA | 14
        #expect(bytes[2..<6] == [0, 0, 0, 0])  // no op flags
        #expect(Array(bytes[6..<14]) == le(UInt64(0x0102_0304)))  // snap.snapid
        #expect(bytes.suffix(4) == [0, 0, 0, 0])  // payload_len 0
        #expect(op.input.readableBytes == 0)
        #expect(op.code.rawValue & 0x2000 != 0)  // a write: goes with the snap context
    }

    @Test func listWatchersIsAReadWithoutInput() {
        let bytes = wireBytes(.listWatchers)
        #expect(bytes.prefix(2) == [0x09, 0x12])  // CEPH_OSD_OP_LIST_WATCHERS = MODE_RD | TYPE_DATA | 9
        #expect(bytes.suffix(4) == [0, 0, 0, 0])
    }
}
