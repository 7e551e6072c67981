import NIOCore

/// librbd's object cache (`rbd_cache_policy = writeback` or `writethrough`), as a pure
/// state machine: it keeps the image's bytes per data object, serves reads from them,
/// and in writeback holds written data dirty until a flush, its age or its volume sends
/// it to the OSDs. It exists so that reads of recently used data and bursts of small
/// writes cost no round trip, with librbd's guarantees (ceph/ceph
/// `src/osdc/ObjectCacher.cc`, `src/librbd/cache/ObjectCacherObjectDispatch.cc`).
///
/// Guarantees: reads see every write acknowledged before them; a flush completes once
/// every write acknowledged before it is on the OSDs, and reports a writeback error any
/// of them met (with no flush waiting, the next flush reports it; a failed writeback
/// stays dirty, so the data is not lost while the image is open); dirty bytes stay within `maxDirty` (writers wait for
/// writeback, they do not fail) and everything within `size` (clean data is evicted,
/// least recently used object first); dirty data older than `maxDirtyAge` is written
/// back, and background writeback starts above `targetDirty`; adjacent dirty extents of
/// an object go out as one write. In writethrough (no dirty data allowed, or
/// writethrough-until-flush before the first user flush) a write is sent at once and
/// acknowledged when it completes.
///
/// Ordering relies on RADOS applying one client's operations on an object in the order
/// they were sent: a discard is sent at once after the cached bytes it covers are
/// dropped, and reads missing data are sent after every earlier write of that object.
///
/// Events in, actions out; `now` is the driver's clock (nanoseconds, any origin) and the
/// machine asks to be woken (``Action/wake(at:)``) when data will age out.
package struct ObjectCacheStateMachine<Waiter, Failure: Error> {
    package enum Action {
        /// Read `length` bytes at `offset` of `object`; report with ``readCompleted(_:_:now:)``
        /// (the bytes, zero-filled to `length`).
        case read(token: UInt64, object: UInt64, offset: UInt64, length: UInt64)
        /// Write `data` at `offset` of `object`; report with ``writeCompleted(_:error:now:)``.
        case write(token: UInt64, object: UInt64, offset: UInt64, data: ByteBuffer)
        /// Answer a read.
        case readDone(Waiter, Result<ByteBuffer, Failure>)
        /// Answer a write (acknowledged, or failed in writethrough).
        case writeDone(Waiter, Failure?)
        /// Answer a flush.
        case flushed(Waiter, Failure?)
        /// Call ``tick(now:)`` at this time (replaces any earlier wake-up asked for).
        case wake(at: UInt64)
    }

    enum ExtentState: Equatable {
        case clean
        /// Written, not yet sent; `since` is when it became dirty.
        case dirty(since: UInt64)
        /// Being written back by write `token`.
        case writing(token: UInt64)
    }

    struct Extent {
        var offset: UInt64
        var data: ByteBuffer
        var state: ExtentState
        var length: UInt64 { UInt64(data.readableBytes) }
        var end: UInt64 { offset + length }
    }

    struct CachedObject {
        /// Sorted by offset, never overlapping.
        var extents: [Extent] = []
        /// Bumped by every write and discard: a read that started before keeps its bytes
        /// to itself rather than caching what may be stale.
        var generation: UInt64 = 0
        var lastUse: UInt64 = 0
        /// When its oldest dirty byte became dirty (nil: none dirty).
        var dirtySince: UInt64?
    }

    private struct PendingRead {
        var waiter: Waiter
        var object: UInt64
        var offset: UInt64
        var result: ByteBuffer
        var gaps: [(offset: UInt64, length: UInt64)]
        var generation: UInt64
        var readOffset: UInt64
    }

    package let sizeLimit: UInt64
    package let configuredMaxDirty: UInt64
    package let targetDirty: UInt64
    package let maxDirtyAge: UInt64
    private var writethroughUntilFlush: Bool

    private(set) var objects: [UInt64: CachedObject] = [:]
    package private(set) var cleanBytes: UInt64 = 0
    package private(set) var dirtyBytes: UInt64 = 0
    package private(set) var writingBytes: UInt64 = 0
    private var useClock: UInt64 = 0
    private var nextToken: UInt64 = 1
    /// Writebacks in flight: token → object.
    private var writebacks: [UInt64: UInt64] = [:]
    /// Writethrough writes waiting for their own writeback.
    private var writethroughWaiters: [UInt64: Waiter] = [:]
    /// Writeback writes waiting for dirty space, in arrival order.
    private var spaceWaiters: [Waiter] = []
    private var reads: [UInt64: PendingRead] = [:]
    /// Flushes waiting for every writeback with a lower token, and the first error one
    /// of those met.
    private var flushes: [(token: UInt64, waiter: Waiter, error: Failure?)] = []
    private var pendingError: Failure?
    private var scheduledWake: UInt64?
    /// Objects in the order they became dirty (entries whose object's `dirtySince`
    /// differs are stale and skipped), from `dirtyHead` on.
    private var dirtyQueue: [(object: UInt64, since: UInt64)] = []
    private var dirtyHead = 0

    package init(sizeBytes: Int, maxDirty: Int, targetDirty: Int, maxDirtyAgeNanoseconds: UInt64, writethroughUntilFlush: Bool) {
        sizeLimit = UInt64(max(0, sizeBytes))
        configuredMaxDirty = UInt64(max(0, maxDirty))
        self.targetDirty = min(UInt64(max(0, targetDirty)), configuredMaxDirty)
        maxDirtyAge = maxDirtyAgeNanoseconds
        self.writethroughUntilFlush = writethroughUntilFlush
    }

    /// Whether writes are acknowledged only once on the OSDs.
    package var isWritethrough: Bool { configuredMaxDirty == 0 || writethroughUntilFlush }

    /// Bytes held, in any state.
    package var totalBytes: UInt64 { cleanBytes + dirtyBytes + writingBytes }

    // MARK: reads

    package mutating func read(object number: UInt64, offset: UInt64, length: UInt64, waiter: Waiter) -> [Action] {
        useClock += 1
        var object = objects[number] ?? CachedObject()
        object.lastUse = useClock
        let end = offset + length
        // One extent holding the whole range: its bytes as they are.
        if let index = firstOverlap(object.extents, offset), object.extents[index].offset <= offset, object.extents[index].end >= end {
            let extent = object.extents[index]
            objects[number] = object
            if let slice = extent.data.getSlice(at: extent.data.readerIndex + Int(offset - extent.offset), length: Int(length)) {
                return [.readDone(waiter, .success(slice))]
            }
        }
        var result = ByteBuffer()
        result.reserveCapacity(Int(length))
        result.writeRepeatingByte(0, count: Int(length))
        var gaps: [(offset: UInt64, length: UInt64)] = []
        var cursor = offset
        var index = firstOverlap(object.extents, offset) ?? object.extents.count
        while index < object.extents.count, object.extents[index].offset < end {
            let extent = object.extents[index]
            let from = max(extent.offset, offset), to = min(extent.end, end)
            if from > cursor { gaps.append((cursor, from - cursor)) }
            if let bytes = extent.data.getSlice(at: extent.data.readerIndex + Int(from - extent.offset), length: Int(to - from)) {
                result.setBuffer(bytes, at: Int(from - offset))
            }
            cursor = to
            index += 1
        }
        if cursor < end { gaps.append((cursor, end - cursor)) }
        objects[number] = object
        guard let first = gaps.first, let last = gaps.last else { return [.readDone(waiter, .success(result))] }
        let token = takeToken()
        reads[token] = PendingRead(waiter: waiter, object: number, offset: offset, result: result, gaps: gaps, generation: object.generation, readOffset: first.offset)
        return [.read(token: token, object: number, offset: first.offset, length: last.offset + last.length - first.offset)]
    }

    /// A read ``Action/read(token:object:offset:length:)`` asked for has completed.
    package mutating func readCompleted(_ token: UInt64, _ outcome: Result<ByteBuffer, Failure>, now: UInt64) -> [Action] {
        guard var pending = reads.removeValue(forKey: token) else { return [] }
        let data: ByteBuffer
        switch outcome {
        case .failure(let error): return [.readDone(pending.waiter, .failure(error))]
        case .success(let bytes): data = bytes
        }
        let current = objects[pending.object]?.generation
        for gap in pending.gaps {
            let at = data.readerIndex + Int(gap.offset - pending.readOffset)
            guard let bytes = data.getSlice(at: at, length: Int(gap.length)) else { continue }
            pending.result.setBuffer(bytes, at: Int(gap.offset - pending.offset))
            // Nothing written since the read was sent: what it read is current.
            if current == pending.generation, sizeLimit > 0 {
                insert(pending.object, Extent(offset: gap.offset, data: bytes, state: .clean))
            }
        }
        var actions: [Action] = [.readDone(pending.waiter, .success(pending.result))]
        pruneIfEmpty(pending.object)
        evictIfNeeded()
        actions += writebackIfNeeded(now: now)
        return actions
    }

    // MARK: writes

    package mutating func write(object number: UInt64, offset: UInt64, data: ByteBuffer, waiter: Waiter, now: UInt64) -> [Action] {
        useClock += 1
        objects[number, default: CachedObject()].generation += 1
        objects[number]?.lastUse = useClock
        guard data.readableBytes > 0 else { return [.writeDone(waiter, nil)] }
        if isWritethrough {
            let token = takeToken()
            insert(number, Extent(offset: offset, data: data, state: .writing(token: token)))
            writebacks[token] = number
            writethroughWaiters[token] = waiter
            evictIfNeeded()
            return [.write(token: token, object: number, offset: offset, data: data)]
        }
        insert(number, Extent(offset: offset, data: data, state: .dirty(since: now)))
        var actions: [Action] = []
        if spaceWaiters.isEmpty && dirtyBytes + writingBytes <= configuredMaxDirty {
            actions.append(.writeDone(waiter, nil))
        } else {
            spaceWaiters.append(waiter)
        }
        actions += writebackIfNeeded(now: now)
        evictIfNeeded()
        return actions
    }

    /// Drops what the cache holds of `range` of `object` (all of it when nil) before the
    /// driver sends a discard there: dirty bytes there are superseded, clean ones stale.
    package mutating func discard(object number: UInt64, range: Range<UInt64>?, now: UInt64) -> [Action] {
        guard var object = objects[number] else { return [] }
        object.generation += 1
        objects[number] = object
        if let range {
            cut(number, range.lowerBound, range.upperBound)
        } else {
            cut(number, 0, UInt64.max)
        }
        pruneIfEmpty(number)
        return releaseSpaceWaiters()
    }

    // MARK: flush, age, invalidate

    /// Sends every dirty byte and answers once every writeback started before is done,
    /// with an error one of them met (or one no earlier flush reported). A user flush ends
    /// writethrough-until-flush.
    package mutating func flush(user: Bool, waiter: Waiter, now: UInt64) -> [Action] {
        if user { writethroughUntilFlush = false }
        var actions = writeBack(objects.keys.filter { objects[$0]?.dirtySince != nil }, now: now)
        let boundary = nextToken
        if writebacks.keys.contains(where: { $0 < boundary }) {
            flushes.append((boundary, waiter, pendingError))
            pendingError = nil
        } else {
            actions.append(.flushed(waiter, pendingError))
            pendingError = nil
        }
        return actions
    }

    /// A writeback ``Action/write(token:object:offset:data:)`` asked for has completed.
    package mutating func writeCompleted(_ token: UInt64, error: Failure?, now: UInt64) -> [Action] {
        guard let number = writebacks.removeValue(forKey: token) else { return [] }
        var actions: [Action] = []
        let writethrough = writethroughWaiters.removeValue(forKey: token)
        // Taken out of the dictionary while changed, so its extents are not copied.
        if var object = objects.removeValue(forKey: number) {
            var dropped = false
            for index in object.extents.indices where object.extents[index].state == .writing(token: token) {
                writingBytes -= object.extents[index].length
                if error == nil {
                    object.extents[index].state = .clean
                    cleanBytes += object.extents[index].length
                } else if writethrough != nil {
                    // Not acknowledged: the caller gets the error, the bytes are not kept.
                    dropped = true
                } else {
                    // Acknowledged: kept dirty (reads still see it), the next flush reports
                    // the error and writes it again.
                    object.extents[index].state = .dirty(since: now)
                    dirtyBytes += object.extents[index].length
                    if object.dirtySince == nil {
                        object.dirtySince = now
                        dirtyQueue.append((number, now))
                    }
                }
            }
            if dropped {
                object.extents.removeAll { $0.state == .writing(token: token) }
                object.generation += 1
            }
            objects[number] = object
            pruneIfEmpty(number)
        }
        if let writethrough {
            actions.append(.writeDone(writethrough, error))
        } else if let error {
            // Every flush waiting for this writeback reports the error; with none
            // waiting, the next flush does.
            var reported = false
            for index in flushes.indices where flushes[index].token > token {
                if flushes[index].error == nil { flushes[index].error = error }
                reported = true
            }
            if !reported, pendingError == nil { pendingError = error }
        }
        // Flushes with no older writeback left.
        let oldest = writebacks.keys.min() ?? UInt64.max
        flushes.removeAll { flush in
            guard flush.token <= oldest else { return false }
            actions.append(.flushed(flush.waiter, flush.error))
            return true
        }
        actions += releaseSpaceWaiters()
        actions += writebackIfNeeded(now: now)
        evictIfNeeded()
        return actions
    }

    /// The wake-up asked for: writes back what has aged out.
    package mutating func tick(now: UInt64) -> [Action] {
        scheduledWake = nil
        return writebackIfNeeded(now: now)
    }

    /// Drops every clean byte (`rbd_invalidate_cache`); false, dropping nothing, while
    /// dirty data or writebacks remain (flush first).
    package mutating func invalidate() -> Bool {
        guard dirtyBytes == 0, writingBytes == 0 else { return false }
        for number in Array(objects.keys) {
            objects[number]?.extents = []
            // Reads under way must not cache what they bring back.
            objects[number]?.generation += 1
            pruneIfEmpty(number)
        }
        cleanBytes = 0
        return true
    }

    // MARK: writeback

    /// Starts writeback when dirty data is over the target, writers wait for space, or
    /// data aged out (oldest first); asks for a wake-up when the oldest dirty data left
    /// will age out.
    private mutating func writebackIfNeeded(now: UInt64) -> [Action] {
        guard dirtyBytes > 0 else { return [] }
        let goal: UInt64 = spaceWaiters.isEmpty ? targetDirty : 0
        var chosen: [UInt64] = []
        var remaining = dirtyBytes
        var index = dirtyHead
        while index < dirtyQueue.count {
            let (number, since) = dirtyQueue[index]
            guard objects[number]?.dirtySince == since, !chosen.contains(number) else {
                index += 1
                continue
            }
            guard now >= since &+ maxDirtyAge || remaining > goal else { break }
            chosen.append(number)
            remaining -= min(remaining, dirtyBytes(of: number))
            index += 1
        }
        var actions = writeBack(chosen, now: now)
        // Forget the entries written back or stale at the front.
        while dirtyHead < dirtyQueue.count, objects[dirtyQueue[dirtyHead].object]?.dirtySince != dirtyQueue[dirtyHead].since {
            dirtyHead += 1
        }
        if dirtyHead > 1024, dirtyHead * 2 > dirtyQueue.count {
            dirtyQueue.removeFirst(dirtyHead)
            dirtyHead = 0
        }
        if dirtyHead < dirtyQueue.count {
            let at = dirtyQueue[dirtyHead].since &+ maxDirtyAge
            if scheduledWake.map({ at < $0 }) ?? true {
                scheduledWake = at
                actions.append(.wake(at: at))
            }
        }
        return actions
    }

    private func dirtyBytes(of number: UInt64) -> UInt64 {
        objects[number]?.extents.reduce(0) { total, extent in
            if case .dirty = extent.state { return total + extent.length }
            return total
        } ?? 0
    }

    /// Writes back every dirty extent of `numbers`, adjacent ones as one write.
    private mutating func writeBack(_ numbers: [UInt64], now: UInt64) -> [Action] {
        var actions: [Action] = []
        for number in numbers {
            guard var object = objects.removeValue(forKey: number) else { continue }
            var index = 0
            while index < object.extents.count {
                guard case .dirty = object.extents[index].state else { index += 1; continue }
                var last = index
                while last + 1 < object.extents.count, case .dirty = object.extents[last + 1].state,
                      object.extents[last + 1].offset == object.extents[last].end {
                    last += 1
                }
                let token = takeToken()
                var data: ByteBuffer
                if last == index {
                    data = object.extents[index].data
                } else {
                    data = ByteBuffer()
                    data.reserveCapacity(Int(object.extents[last].end - object.extents[index].offset))
                    for piece in object.extents[index...last] { data.writeImmutableBuffer(piece.data) }
                }
                for piece in index...last {
                    dirtyBytes -= object.extents[piece].length
                    writingBytes += object.extents[piece].length
                    object.extents[piece].state = .writing(token: token)
                }
                writebacks[token] = number
                actions.append(.write(token: token, object: number, offset: object.extents[index].offset, data: data))
                index = last + 1
            }
            object.dirtySince = nil
            objects[number] = object
        }
        return actions
    }

    private mutating func releaseSpaceWaiters() -> [Action] {
        var actions: [Action] = []
        while !spaceWaiters.isEmpty, dirtyBytes + writingBytes <= configuredMaxDirty || dirtyBytes + writingBytes == 0 {
            actions.append(.writeDone(spaceWaiters.removeFirst(), nil))
        }
        return actions
    }

    // MARK: extents

    private mutating func takeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    /// The index of the first extent ending after `offset`.
    private func firstOverlap(_ extents: [Extent], _ offset: UInt64) -> Int? {
        var low = 0, high = extents.count
        while low < high {
            let mid = (low + high) / 2
            if extents[mid].end <= offset { low = mid + 1 } else { high = mid }
        }
        return low < extents.count ? low : nil
    }

    /// Puts `extent` in, replacing whatever it overlaps.
    private mutating func insert(_ number: UInt64, _ extent: Extent) {
        cut(number, extent.offset, extent.end)
        var object = objects.removeValue(forKey: number) ?? CachedObject()
        let index = firstOverlap(object.extents, extent.offset) ?? object.extents.count
        object.extents.insert(extent, at: index)
        account(extent, +1)
        if case .dirty(let since) = extent.state, object.dirtySince == nil {
            object.dirtySince = since
            dirtyQueue.append((number, since))
        }
        objects[number] = object
    }

    /// Removes `[from, to)` from the object's extents, keeping what lies outside.
    private mutating func cut(_ number: UInt64, _ from: UInt64, _ to: UInt64) {
        guard var object = objects.removeValue(forKey: number) else { return }
        guard var index = firstOverlap(object.extents, from) else {
            objects[number] = object
            return
        }
        while index < object.extents.count, object.extents[index].offset < to {
            let extent = object.extents[index]
            account(extent, -1)
            var pieces: [Extent] = []
            if extent.offset < from, let left = extent.data.getSlice(at: extent.data.readerIndex, length: Int(from - extent.offset)) {
                pieces.append(Extent(offset: extent.offset, data: left, state: extent.state))
            }
            if extent.end > to, let right = extent.data.getSlice(at: extent.data.readerIndex + Int(to - extent.offset), length: Int(extent.end - to)) {
                pieces.append(Extent(offset: to, data: right, state: extent.state))
            }
            for piece in pieces { account(piece, +1) }
            object.extents.replaceSubrange(index...index, with: pieces)
            index += pieces.count
        }
        if object.dirtySince != nil, !object.extents.contains(where: { if case .dirty = $0.state { true } else { false } }) {
            object.dirtySince = nil
        }
        objects[number] = object
    }

    private mutating func account(_ extent: Extent, _ sign: Int) {
        let length = extent.length
        switch extent.state {
        case .clean: cleanBytes = sign > 0 ? cleanBytes + length : cleanBytes - length
        case .dirty: dirtyBytes = sign > 0 ? dirtyBytes + length : dirtyBytes - length
        case .writing: writingBytes = sign > 0 ? writingBytes + length : writingBytes - length
        }
    }

    /// Evicts clean data, least recently used objects first, down to 7/8 of the size
    /// limit once over it.
    /// Forgets an object that holds nothing and that no read is waiting on.
    private mutating func pruneIfEmpty(_ number: UInt64) {
        guard let object = objects[number], object.extents.isEmpty, object.dirtySince == nil,
              !reads.values.contains(where: { $0.object == number }) else { return }
        objects[number] = nil
    }

    private mutating func evictIfNeeded() {
        guard totalBytes > sizeLimit, cleanBytes > 0 else { return }
        let goal = sizeLimit - sizeLimit / 8
        let candidates = objects.filter { $0.value.extents.contains { $0.state == .clean } }.sorted { $0.value.lastUse < $1.value.lastUse }
        for (number, _) in candidates {
            guard totalBytes > goal, cleanBytes > 0 else { break }
            guard var object = objects.removeValue(forKey: number) else { continue }
            object.extents.removeAll { extent in
                guard extent.state == .clean else { return false }
                cleanBytes -= extent.length
                return true
            }
            if object.extents.isEmpty && object.dirtySince == nil && !reads.values.contains(where: { $0.object == number }) {
                objects[number] = nil
            } else {
                objects[number] = object
            }
        }
    }
}
