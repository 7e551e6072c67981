import NIOCore

/// Requests from any thread, answered by a callback on the client's loop: the entry
/// point of callers outside Swift concurrency (the librbd/librados C ABI's `aio`
/// functions, called from QEMU's or fio's own threads) and of the image I/O path.
///
/// A call enqueues the request onto the loop (or submits it at once when already on
/// it); nothing waits on Swift's cooperative pool, no task or continuation is made. The
/// completion runs on the loop thread, as librados runs its callbacks on its finisher:
/// it must return quickly and never block.
extension Objecter {
    /// Runs `ops` on one object, atomically; `completion` receives the OSD's reply (or
    /// the error that ended the request) on the loop.
    package nonisolated func execute(
        pool: Int64, namespace: String, object: String, ops: [OSDOp],
        snapID: UInt64, snapContext: SnapContext,
        completion: @escaping @Sendable (Result<Reply, any Error>) -> Void
    ) {
        // On the loop already (a completion issuing the next request): submitted at
        // once, with no closure made for it.
        if eventLoop.inEventLoop {
            assumeIsolated { $0.submit(pool: pool, namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext, completion: completion) }
        } else {
            eventLoop.execute { [self] in
                assumeIsolated { $0.submit(pool: pool, namespace: namespace, object: object, ops: ops, snapID: snapID, snapContext: snapContext, completion: completion) }
            }
        }
    }
}
