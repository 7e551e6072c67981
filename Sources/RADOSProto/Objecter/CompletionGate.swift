import Foundation

/// Lets one waiter go on once `count` arrivals happened or ``open()`` was called,
/// whichever comes first (a bounded wait for a set of unstructured tasks).
final class CompletionGate: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private var isOpen = false
    private var waiter: CheckedContinuation<Void, Never>?

    init(count: Int) { remaining = count }

    func arrive() {
        let resume: CheckedContinuation<Void, Never>? = lock.withLock {
            remaining -= 1
            return remaining == 0 ? release() : nil
        }
        resume?.resume()
    }

    func open() {
        lock.withLock { release() }?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                if isOpen { return true }
                waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Marks the gate open and hands back the waiter to resume (once), under the lock.
    private func release() -> CheckedContinuation<Void, Never>? {
        isOpen = true
        defer { waiter = nil }
        return waiter
    }
}
