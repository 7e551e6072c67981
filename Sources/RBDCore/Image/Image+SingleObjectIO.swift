import NIOCore
import RADOSProto
import Synchronization

/// The hot path of ``Image/aioRead(offset:length:completion:)`` and
/// ``Image/aioWrite(offset:data:completion:)``: an I/O that falls in one object (a 4 KiB
/// random read or write always does) is carried by one object whose methods are the
/// completions of the layers below it. A closure that captures a single object
/// allocates nothing, so the image layer allocates this object and nothing else per
/// I/O, where a closure per layer (each capturing the one above) made five.
extension Image {
    /// A read of one object extent: `completion` receives its bytes.
    final class SingleObjectRead: Sendable {
        let image: Image
        let prefix: String
        let objectNumber: UInt64
        /// Where in the object, and how many bytes (clipped to the image already).
        let offset: UInt64
        let length: UInt64
        let completion: IOCompletion

        init(image: Image, prefix: String, objectNumber: UInt64, offset: UInt64, length: UInt64, completion: IOCompletion) {
            self.image = image
            self.prefix = prefix
            self.objectNumber = objectNumber
            self.offset = offset
            self.length = length
            self.completion = completion
        }

        /// Sends the read, on the client's loop: through the cache if it must (an object
        /// cache, or a write-around cache with a write in flight that the read overlaps),
        /// else after the scheduler's waiting writes that it overlaps.
        func startOnLoop() {
            if let cache = image.cache, !cache.readsDirectlyOnLoop(object: objectNumber, offset: offset, length: length) {
                return cache.read(image, prefix: prefix, object: objectNumber, offset: offset, length: length) { self.objectRead($0) }
            }
            image.scheduler?.readOnLoop(image, object: objectNumber, offset: offset, length: length)
            let sparse = length >= Image.sparseReadThreshold
            let op: OSDOp = sparse ? .sparseRead(offset: offset, length: length) : .read(offset: offset, length: length)
            let ops = SmallArray<OSDOp>(single: op)
            image.dataIO.operate(name, ops, snapID: image.readSnapID) { self.osdAnswered($0) }
        }

        /// The data object's name, spelled out only where it is written (or in an error).
        var name: ObjectName { ObjectName(dataObjectPrefix: prefix, number: objectNumber) }

        /// The OSD's answer (``Image/sendObjectRead(_:_:offset:length:completion:)``'s
        /// rules: a clone's missing object reads from the parent, a missing one as zeros).
        func osdAnswered(_ outcome: Result<SmallArray<ByteBuffer>, RADOSError>) {
            if let parent = image.parent, case .failure(let error) = outcome, error.code == .notFound {
                let view = image.ioView()
                return image.readFromParent(parent, objectNumber: objectNumber, offset: offset, length: length, overlap: view.parentOverlap, layout: view.layout) { self.objectRead($0) }
            }
            let sparse = length >= Image.sparseReadThreshold
            objectRead(Image.objectRead(outcome, name: name.description, length: length, sparse: sparse))
        }

        func objectRead(_ result: Result<ObjectReadResult, RADOSError>) {
            let offset = offset
            let length = length
            image.completeOnLoop(completion, result.map { object in
                let bytes = object.bytes(offset: offset, length: length)
                return (bytes.readableBytes, bytes)
            })
        }
    }

    /// A write of one object extent, admitted with `ticket`: `completion` receives the
    /// bytes written, then the ticket is returned (so a flush completes after it).
    final class SingleObjectWrite: Sendable {
        let image: Image
        let ticket: UInt64
        let objectNumber: UInt64
        let length: Int
        let completion: IOCompletion
        /// The I/O scheduler's token for the send that carries this write alone, set on
        /// the client's loop before the send and read there when it completes.
        let sendToken = Atomic<UInt64>(0)

        init(image: Image, ticket: UInt64, objectNumber: UInt64, length: Int, completion: IOCompletion) {
            self.image = image
            self.ticket = ticket
            self.objectNumber = objectNumber
            self.length = length
            self.completion = completion
        }

        func written(_ outcome: Result<Void, RADOSError>) {
            image.completeOnLoop(completion, outcome.map { (length, nil) })
            image.writes.finish(ticket)
        }

        /// The OSD's answer to the scheduler's send of this write alone: the write is
        /// answered, then the scheduler hears that its send completed.
        func sentAlone(_ outputs: Result<SmallArray<ByteBuffer>, RADOSError>) {
            written(outputs.map { _ in () })
            image.scheduler?.sendCompleted(sendToken.load(ordering: .relaxed), object: objectNumber, image)
        }
    }

    /// Starts a read on the hot path when it can take it (current view, one object);
    /// false when the caller must take the general path.
    func startSingleObjectRead(offset: UInt64, length requested: UInt64, completion: IOCompletion) -> Bool {
        let view = ioView()
        guard !view.needsAttention,
              let length = try? ImageIOPlan.clip(offset: offset, length: requested, size: view.size), length > 0,
              let piece = ImageIOPlan.singlePiece(view.layout, offset: offset, length: length)
        else { return false }
        cache?.readAhead(self, view: view, offset: offset, length: length)
        let read = SingleObjectRead(image: self, prefix: view.prefix, objectNumber: piece.objectNumber, offset: piece.objectOffset, length: length, completion: completion)
        let loop = dataIO.eventLoop
        if loop.inEventLoop {
            read.startOnLoop()
        } else {
            loop.execute { read.startOnLoop() }
        }
        return true
    }

    /// Starts an aio write: admitted first (so the view it is checked and sent under is
    /// the one in force after any snapshot that admission waited for), then on the hot
    /// path when it can take it (current view, one object, writable), else on the
    /// general one with the same ticket.
    func startAioWrite(offset: UInt64, data: ByteBuffer, completion: IOCompletion) {
        guard let ticket = writes.tryAdmit() else {
            // Held back behind a snapshot under way: the general path queues it.
            return startWrite(offset: offset, data: data) { [self] in completeOnLoop(completion, $0.map { ($0, nil) }) }
        }
        let view = ioView()
        if !view.needsAttention, data.readableBytes > 0,
           let length = try? ImageIOPlan.clip(offset: offset, length: UInt64(data.readableBytes), size: view.size),
           length == UInt64(data.readableBytes),
           let piece = ImageIOPlan.singlePiece(view.layout, offset: offset, length: length),
           (try? checkWritable(view)) != nil {
            let write = SingleObjectWrite(image: self, ticket: ticket, objectNumber: piece.objectNumber, length: data.readableBytes, completion: completion)
            if cache == nil, let scheduler {
                // Through the scheduler with the write's own object as its answer.
                return scheduler.write(self, view: view, offset: piece.objectOffset, data: data, single: write)
            }
            writeObject(view, piece.objectNumber, offset: piece.objectOffset, data: data) { write.written($0) }
            return
        }
        write(ticket: ticket, offset: offset, data: data) { [self] in completeOnLoop(completion, $0.map { ($0, nil) }) }
    }
}
