import NIOCore
import Testing
@testable import RADOSProto

/// Cuts `bytes` at every offset short of the end and expects `decode` to throw a
/// `DencError` for each prefix (and never trap).
func expectEveryTruncationThrows(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ decode: (ByteBuffer) throws -> Void
) {
    for cut in 0..<bytes.count {
        #expect(throws: DencError.self, "cut at \(cut)", sourceLocation: sourceLocation) {
            try decode(ByteBuffer(bytes: bytes[0..<cut]))
        }
    }
}

/// The 38-byte `ceph_osd_op` an op encodes to.
func wireBytes(_ op: OSDOp) -> [UInt8] {
    var buffer = ByteBuffer()
    op.encode(into: &buffer)
    return Array(buffer.readableBytesView)
}

/// Little-endian bytes of an integer.
func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian, Array.init)
}

/// A denc string: u32 length, then the UTF-8 bytes.
func dencString(_ s: String) -> [UInt8] {
    le(UInt32(s.utf8.count)) + Array(s.utf8)
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}
