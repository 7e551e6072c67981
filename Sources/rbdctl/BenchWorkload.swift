import NIOConcurrencyHelpers
import NIOCore
import RADOSProto
import RBDCore

/// The I/O loop of `rbdctl bench`, run as `rbd bench` runs it: `depth` asynchronous
/// image I/Os in flight (librbd's `aio_read`/`aio_write` with completions), each
/// completion issuing the next one. It uses the image's callback I/O (the path the C
/// ABI's `rbd_aio_*` takes), so the whole workload runs on the client's event loop with
/// no task per I/O; the caller waits once, for the end.
///
/// Each of the `depth` chains walks its own sequence from a random start (seq) or picks
/// random aligned offsets (rand), as `rbd bench`'s threads do
/// (ceph/ceph `src/tools/rbd/action/Bench.cc`).
final class BenchWorkload: Sendable {
    struct Counters {
        var issued: UInt64 = 0
        var reads: UInt64 = 0
        var writes: UInt64 = 0
        var bytes: UInt64 = 0
        /// Chains still issuing.
        var running = 0
        var failure: RADOSError?
        /// The offsets' and mix's random numbers: one seed from the system, then SplitMix64
        /// (the system generator costs a `getrandom` call per I/O, which `rbd bench`'s
        /// `rand()` does not).
        var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    }

    let image: Image
    let size: UInt64
    let total: UInt64
    let random: Bool
    let readShare: Int
    let payload: ByteBuffer
    let counters = NIOLockedValueBox(Counters())
    private let finished = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    init(image: Image, ioSize: UInt64, total: UInt64, random: Bool, readShare: Int) {
        self.image = image
        self.size = ioSize
        self.total = total
        self.random = random
        self.readShare = readShare
        // Never zeros: written data must be told from a hole.
        self.payload = ByteBuffer(repeating: UInt8.random(in: 1...255), count: Int(ioSize))
    }

    /// Runs `depth` chains until `total` bytes were issued and every I/O completed.
    /// - Throws: the first I/O error (no new I/O is issued after it).
    func run(depth: Int) async throws(RADOSError) {
        let slots = image.size / size
        counters.withLockedValue { $0.running = depth }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.withLockedValue { $0 = { continuation.resume() } }
            for _ in 0..<depth {
                issue(after: UInt64.random(in: 0..<slots) * size, slots: slots)
            }
        }
        if let failure = counters.withLockedValue({ $0.failure }) { throw failure }
    }

    /// Issues the chain's next I/O (its previous one was at `position`), or ends the chain.
    private func issue(after position: UInt64, slots: UInt64) {
        let size = self.size, total = self.total
        let random = self.random, readShare = self.readShare
        enum Step { case issue(slot: UInt64, read: Bool), end(last: Bool) }
        let step: Step = counters.withLockedValue { counters in
            guard counters.failure == nil, counters.issued + size <= total else {
                counters.running -= 1
                return .end(last: counters.running == 0)
            }
            counters.issued += size
            let slot = random ? counters.random.next() % slots : 0
            let read = readShare == 100 || (readShare > 0 && Int(counters.random.next() % 100) < readShare)
            return .issue(slot: slot, read: read)
        }
        let next: UInt64
        let isRead: Bool
        switch step {
        case .end(let last):
            if last, let done = finished.withLockedValue({ $0 }) { done() }
            return
        case .issue(let slot, let read):
            next = random ? slot * size : (position + 2 * size > image.size ? 0 : position + size)
            isRead = read
        }
        let completion = IOCompletion { [self] completion in
            counters.withLockedValue { counters in
                if let error = completion.error {
                    if counters.failure == nil { counters.failure = error }
                } else if isRead, completion.returnValue != Int(size) {
                    if counters.failure == nil {
                        counters.failure = RADOSError(.clusterError, "read error: short read of \(completion.returnValue ?? 0) bytes", errno: 5)
                    }
                } else {
                    if isRead { counters.reads += 1 } else { counters.writes += 1 }
                    counters.bytes += size
                }
            }
            issue(after: next, slots: slots)
        }
        if isRead {
            image.aioRead(offset: next, length: size, completion: completion)
        } else {
            image.aioWrite(offset: next, data: payload, completion: completion)
        }
    }
}
