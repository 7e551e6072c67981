import NIOCore

/// Sending on the I/O path: an open lossy session's request frames written into the
/// driver's ``OutboundFrames``, with no array of actions or pieces and no buffer of
/// their own per request (anything else takes ``ProtocolV2Client/send(_:)``).
extension ProtocolV2Client {
    /// ``send(_:)`` for a message whose front is encoded straight into the frame
    /// (``FrameEncoder/encode(header:front:data:into:)``): on an open lossy session it is
    /// appended to `frames` (which the driver writes at its next flush) and nothing is
    /// returned; anything but an open lossy session takes the message path, and its
    /// actions are returned.
    package mutating func send<Front: EncodableFront>(
        header: MessageHeader2, front: Front, data: ByteBuffer, appendingTo frames: inout OutboundFrames
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
        encoder.encode(header: h, front: front, data: data, into: &frames)
        return []
    }
}
