import NIOCore

/// One operation on an object, as it travels inside `MOSDOp`.
///
/// On the wire an op is the packed 38-byte `struct ceph_osd_op` (u16 op, u32 flags, a
/// 28-byte union of per-op arguments, u32 payload_len) in the message front, while its
/// input bytes (write data, xattr names and values, class-call names and input) travel
/// in the message's data segment, ops' inputs concatenated in order. Source: ceph/ceph
/// `src/include/rados.h` (`struct ceph_osd_op`), `src/osd/osd_types.h` (`OSDOp`), and
/// Linux `net/ceph/osd_client.c` (`osd_req_encode_op`).
package struct OSDOp: Hashable, Sendable {
    /// The per-op arguments (the union inside `ceph_osd_op`).
    package enum Arguments: Hashable, Sendable {
        case none
        case extent(offset: UInt64, length: UInt64, truncateSize: UInt64 = 0, truncateSeq: UInt32 = 0)
        case xattr(nameLength: UInt32, valueLength: UInt32, compareOp: UInt8 = 0, compareMode: UInt8 = 0)
        case classCall(classLength: UInt8, methodLength: UInt8, inputLength: UInt32)
        case snap(id: UInt64)
        case watch(cookie: UInt64, op: UInt8, generation: UInt32, timeout: UInt32)
        case notify(cookie: UInt64)
        case assertVersion(UInt64)
        case allocHint(expectedObjectSize: UInt64, expectedWriteSize: UInt64, flags: UInt32)
        case pgList(count: UInt64, startEpoch: UInt32)
    }

    /// Size of `struct ceph_osd_op` on the wire.
    package static let encodedSize = 38
    static let unionSize = 28

    package var code: OSDOpCode
    package var flags: OSDOpFlags
    package var arguments: Arguments
    /// Bytes this op sends in the data segment (its `payload_len`).
    package var input: ByteBuffer

    package init(_ code: OSDOpCode, flags: OSDOpFlags = [], arguments: Arguments = .none, input: ByteBuffer = ByteBuffer()) {
        self.code = code
        self.flags = flags
        self.arguments = arguments
        self.input = input
    }

    // MARK: builders

    package static func read(offset: UInt64, length: UInt64, flags: OSDOpFlags = []) -> OSDOp {
        OSDOp(.read, flags: flags, arguments: .extent(offset: offset, length: length))
    }

    package static func sparseRead(offset: UInt64, length: UInt64) -> OSDOp {
        OSDOp(.sparseRead, arguments: .extent(offset: offset, length: length))
    }

    /// Writes `data` at `offset` (the buffer is carried, not copied).
    package static func write(offset: UInt64, data: ByteBuffer, flags: OSDOpFlags = []) -> OSDOp {
        OSDOp(.write, flags: flags, arguments: .extent(offset: offset, length: UInt64(data.readableBytes)), input: data)
    }

    package static func writeFull(_ data: ByteBuffer) -> OSDOp {
        OSDOp(.writeFull, arguments: .extent(offset: 0, length: UInt64(data.readableBytes)), input: data)
    }

    package static func append(_ data: ByteBuffer) -> OSDOp {
        OSDOp(.append, arguments: .extent(offset: 0, length: UInt64(data.readableBytes)), input: data)
    }

    package static func zero(offset: UInt64, length: UInt64) -> OSDOp {
        OSDOp(.zero, arguments: .extent(offset: offset, length: length))
    }

    package static func truncate(size: UInt64) -> OSDOp {
        OSDOp(.truncate, arguments: .extent(offset: size, length: 0))
    }

    package static var delete: OSDOp { OSDOp(.delete) }
    package static var stat: OSDOp { OSDOp(.stat) }

    package static func create(exclusive: Bool) -> OSDOp {
        OSDOp(.create, flags: exclusive ? .exclusive : [])
    }

    /// An object-class method call: class and method names and the input travel as data.
    package static func call(class className: String, method: String, input: ByteBuffer) throws -> OSDOp {
        let classBytes = Array(className.utf8), methodBytes = Array(method.utf8)
        guard !classBytes.isEmpty, classBytes.count <= 255, !methodBytes.isEmpty, methodBytes.count <= 255 else {
            throw RADOSError(.invalidArgument, "object class and method names must be 1 to 255 bytes")
        }
        var data = ByteBuffer()
        data.reserveCapacity(classBytes.count + methodBytes.count + input.readableBytes)
        data.writeBytes(classBytes)
        data.writeBytes(methodBytes)
        data.writeImmutableBuffer(input)
        return OSDOp(.call, arguments: .classCall(classLength: UInt8(classBytes.count), methodLength: UInt8(methodBytes.count), inputLength: UInt32(truncatingIfNeeded: input.readableBytes)), input: data)
    }

    package static func getXattr(_ name: String) -> OSDOp {
        let nameBuffer = ByteBuffer(string: name)
        return OSDOp(.getXattr, arguments: .xattr(nameLength: UInt32(truncatingIfNeeded: nameBuffer.readableBytes), valueLength: 0), input: nameBuffer)
    }

    package static func setXattr(_ name: String, value: ByteBuffer) -> OSDOp {
        var data = ByteBuffer(string: name)
        let nameLength = data.readableBytes
        data.writeImmutableBuffer(value)
        return OSDOp(.setXattr, arguments: .xattr(nameLength: UInt32(truncatingIfNeeded: nameLength), valueLength: UInt32(truncatingIfNeeded: value.readableBytes)), input: data)
    }

    package static func removeXattr(_ name: String) -> OSDOp {
        let nameBuffer = ByteBuffer(string: name)
        return OSDOp(.removeXattr, arguments: .xattr(nameLength: UInt32(truncatingIfNeeded: nameBuffer.readableBytes), valueLength: 0), input: nameBuffer)
    }

    package static var getXattrs: OSDOp { OSDOp(.getXattrs) }

    // MARK: wire form

    /// Writes the 38-byte `ceph_osd_op`; `payload_len` is the input's length.
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencU16(code.rawValue)
        buffer.writeDencU32(flags.rawValue)
        let unionStart = buffer.writerIndex
        switch arguments {
        case .none:
            break
        case .extent(let offset, let length, let truncateSize, let truncateSeq):
            buffer.writeDencU64(offset)
            buffer.writeDencU64(length)
            buffer.writeDencU64(truncateSize)
            buffer.writeDencU32(truncateSeq)
        case .xattr(let nameLength, let valueLength, let compareOp, let compareMode):
            buffer.writeDencU32(nameLength)
            buffer.writeDencU32(valueLength)
            buffer.writeDencU8(compareOp)
            buffer.writeDencU8(compareMode)
        case .classCall(let classLength, let methodLength, let inputLength):
            buffer.writeDencU8(classLength)
            buffer.writeDencU8(methodLength)
            buffer.writeDencU8(0)  // argc, unused
            buffer.writeDencU32(inputLength)
        case .snap(let id):
            buffer.writeDencU64(id)
        case .watch(let cookie, let op, let generation, let timeout):
            buffer.writeDencU64(cookie)
            buffer.writeDencU64(0)  // ver, no longer used
            buffer.writeDencU8(op)
            buffer.writeDencU32(generation)
            buffer.writeDencU32(timeout)
        case .notify(let cookie):
            buffer.writeDencU64(cookie)
        case .assertVersion(let version):
            buffer.writeDencU64(0)  // unused
            buffer.writeDencU64(version)
        case .allocHint(let objectSize, let writeSize, let hintFlags):
            buffer.writeDencU64(objectSize)
            buffer.writeDencU64(writeSize)
            buffer.writeDencU32(hintFlags)
        case .pgList(let count, let startEpoch):
            buffer.writeDencU64(count)
            buffer.writeDencU32(startEpoch)
        }
        let used = buffer.writerIndex - unionStart
        buffer.writeRepeatingByte(0, count: Self.unionSize - used)
        buffer.writeDencU32(UInt32(truncatingIfNeeded: input.readableBytes))
    }
}

/// What a reply says about one op: its code and how many bytes of output it returned.
package struct OSDOpReplyHeader: Hashable, Sendable {
    package var code: OSDOpCode
    package var flags: OSDOpFlags
    /// Length of this op's output in the reply's data segment.
    package var outputLength: UInt32
    /// The op's return value (0 or a negative errno, or a class method's return), which
    /// the reply carries after all the ops; kept here so a reply has one array, not two.
    package var returnValue: Int32 = 0

    /// Reads a 38-byte `ceph_osd_op`, keeping what a reply needs.
    package static func read(from buffer: inout ByteBuffer) throws -> OSDOpReplyHeader {
        let code = OSDOpCode(rawValue: try buffer.readDencU16())
        let flags = OSDOpFlags(rawValue: try buffer.readDencU32())
        _ = try buffer.readDencFixed(OSDOp.unionSize)
        let length = try buffer.readDencU32()
        return OSDOpReplyHeader(code: code, flags: flags, outputLength: length)
    }
}
