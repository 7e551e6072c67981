import NIOCore

/// Sending on the I/O path: an open lossy session's message frames appended to an array
/// the driver keeps, with no array of actions or pieces per request (anything else takes
/// ``ProtocolV2Client/send(_:)``).
extension ProtocolV2Client {
    /// ``send(_:)`` for the I/O path: on an open session the frame's pieces are appended
    /// to `out` (an array the driver keeps and empties after writing them) and nothing is
    /// returned; otherwise whatever ``send(_:)`` returns. A request then costs no array of
    /// actions and none of pieces.
    package mutating func send(_ message: Message, appendingTo out: inout [ByteBuffer]) -> [Action] {
        guard case .ready = state, configuration.lossy else { return send(message) }
        outSeq += 1
        var m = message
        m.header.seq = outSeq
        encodeNumbered(m, into: &out)
        return []
    }

    /// ``send(_:appendingTo:)`` for a message whose front is encoded into its frame's
    /// buffer (``FrameEncoder/encode(header:front:data:into:allocator:)``): one buffer
    /// per request in crc mode. Anything but an open lossy session takes the message path.
    package mutating func send<Front: EncodableFront>(
        header: MessageHeader2, front: Front, data: ByteBuffer, appendingTo out: inout [ByteBuffer]
    ) -> [Action] {
        guard case .ready = state, configuration.lossy else {
            var buffer = ByteBufferAllocator().buffer(capacity: front.frontCapacity)
            front.encodeFront(into: &buffer)
            return send(Message(header: header, front: buffer, middle: ByteBuffer(), data: data))
        }
        outSeq += 1
        var h = header
        h.seq = outSeq
        h.ackSeq = inSeq
        ackedInSeq = inSeq
        encoder.encode(header: h, front: front, data: data, into: &out)
        return []
    }
}
