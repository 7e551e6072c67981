import NIOCore

/// Frames encoded but not yet written, in wire order, until the driver's next flush.
///
/// It exists so that a request costs no buffer of its own: the bytes the frame encoder
/// writes itself (preamble, message header, front, epilogue) go into one arena buffer
/// shared by every frame until the flush, and the payloads between them (a write's data)
/// are kept as they are, not copied. At the flush the arena is cut into slices, which
/// share its storage, and once the socket has taken them the next frames reuse the same
/// storage from its start: in steady state no allocation per frame at all, where a buffer
/// per frame costs two (NIO allocates a buffer's storage object and its bytes apart).
///
/// The arena is only ever written while no slice of it is outstanding: slices are taken
/// in ``drain(_:)``, and the first append after a drain starts the arena over (clearing
/// it reuses the storage when the slices are gone, and allocates a fresh one when they
/// are not, e.g. when the socket is not writable, so nothing written is ever changed).
package struct OutboundFrames {
    /// A run of the arena or a buffer of the caller's.
    private enum Piece {
        case arena(start: Int, end: Int)
        case buffer(ByteBuffer)
    }

    private var arena: ByteBuffer
    private var pieces: [Piece] = []
    /// Slices of the arena were handed out since it was last started over.
    private var drained = false

    /// - Parameter capacity: the arena's first size (it grows as a batch needs and keeps
    ///   that size).
    package init(capacity: Int = 4096, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        arena = allocator.buffer(capacity: capacity)
    }

    /// Nothing waits.
    package var isEmpty: Bool { pieces.isEmpty }

    /// Appends a buffer as it is (a payload, or a frame encoded elsewhere).
    package mutating func append(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        pieces.append(.buffer(buffer))
    }

    /// Appends `buffers` as they are, in order.
    package mutating func append(contentsOf buffers: [ByteBuffer]) {
        for buffer in buffers { append(buffer) }
    }

    /// Writes into the arena with `body` (handed the arena and where this write starts),
    /// which must leave the arena's writer index at the end of what it wrote and return
    /// the runs of it that go on the wire, in order, with `payload` (when not empty)
    /// between the first run and the second.
    ///
    /// - Parameter reserving: bytes the write may take (the arena grows once, up front).
    package mutating func writeFrame(
        reserving: Int, payload: ByteBuffer,
        _ body: (inout ByteBuffer, Int) -> (head: Range<Int>, tail: Range<Int>?)
    ) {
        if drained {
            arena.clear()
            drained = false
        }
        let start = arena.writerIndex
        arena.reserveCapacity(start + reserving)
        let runs = body(&arena, start)
        appendRun(runs.head)
        if payload.readableBytes > 0 { pieces.append(.buffer(payload)) }
        if let tail = runs.tail { appendRun(tail) }
    }

    /// A run of the arena right after the last one joins it: frames with no payload
    /// (reads) leave as one piece however many there are.
    private mutating func appendRun(_ run: Range<Int>) {
        guard !run.isEmpty else { return }
        if case .arena(let start, let end) = pieces.last, end == run.lowerBound {
            pieces[pieces.count - 1] = .arena(start: start, end: run.upperBound)
        } else {
            pieces.append(.arena(start: run.lowerBound, end: run.upperBound))
        }
    }

    /// Hands every waiting piece to `write`, in order (the arena's as slices of it), and
    /// empties the list, keeping its capacity.
    package mutating func drain(_ write: (ByteBuffer) -> Void) {
        guard !pieces.isEmpty else { return }
        for piece in pieces {
            switch piece {
            case .buffer(let buffer):
                write(buffer)
            case .arena(let start, let end):
                if let slice = arena.getSlice(at: start, length: end - start) { write(slice) }
            }
        }
        pieces.removeAll(keepingCapacity: true)
        drained = true
    }

    /// Drops whatever waits (the connection is gone).
    package mutating func discard() {
        pieces.removeAll(keepingCapacity: true)
        drained = true
    }
}
