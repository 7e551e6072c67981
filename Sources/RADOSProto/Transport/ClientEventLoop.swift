import NIOCore
import NIOPosix

/// The event loop a client runs on unless it is given one: one thread for the whole
/// process, started the first time a client connects.
///
/// Every client's protocol work and I/O (monitor session, OSD sessions, timers,
/// completions) runs on its loop; the process therefore has one I/O thread however many
/// cores the machine has, where NIO's shared `singleton` group would start one per core
/// and librados starts its messenger, finisher and timer threads per client (about ten).
/// A client's state is confined to its loop, so sharing the thread needs no locks.
package enum ClientEventLoop {
    /// The process-wide group: one thread, never shut down (like NIO's singleton).
    package static let group: MultiThreadedEventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// The loop for a new client.
    package static func next() -> any EventLoop { group.next() }
}
