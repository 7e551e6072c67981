import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import RADOSProto

/// How the C ABI's synchronous functions reach the async Swift API, how handles cross
/// the border, and how failures become librados' negative errnos.
///
/// A synchronous C call (`rados_connect`, `rbd_open`, `rbd_resize`, …) starts its work
/// on a detached task and blocks the calling thread on a semaphore until the task is
/// done. The work itself only awaits replies that the client's event loop delivers, so
/// the caller's thread is the only one that waits.
///
/// The one thread that must never wait is the client's event loop: it is where every
/// reply arrives and where completion callbacks (`rbd_callback_t`) run. A synchronous
/// call made from inside a completion callback would wait for a reply that the blocked
/// loop can no longer deliver. librbd deadlocks in that case; we refuse instead: the
/// call returns `-EDEADLK` at once and says so once on stderr. The exceptions are calls
/// that need no reply (`rbd_get_size` and the other getters when the image needs no
/// refresh, `rbd_aio_*`, `rbd_aio_release`), and `rbd_close`/`rados_shutdown`, which
/// finish in the background when called there.
enum Bridge {
    /// Whether the calling thread is an event loop (ours or any NIO loop): blocking it
    /// could deadlock the client.
    static var onEventLoop: Bool { MultiThreadedEventLoopGroup.currentEventLoop != nil }

    /// Runs `body` to completion and returns its outcome, blocking the calling thread.
    /// `function` names the C function for the message when called on the event loop.
    static func run<Value: Sendable>(
        _ function: StaticString,
        _ body: @escaping @Sendable () async throws(RADOSError) -> Value
    ) -> Result<Value, RADOSError> {
        guard !onEventLoop else {
            Diagnostics.once("deadlock.\(function)", "\(function) was called on SwiftRBD's event loop thread (from a completion callback?): it would deadlock there, so it returns -EDEADLK")
            return .failure(RADOSError(.unsupported, "\(function) cannot block the client's event loop", errno: EDEADLK))
        }
        let outcome = Outcome<Value>()
        Task.detached {
            do throws(RADOSError) {
                outcome.set(.success(try await body()))
            } catch {
                outcome.set(.failure(error))
            }
        }
        return outcome.wait()
    }

    /// ``run(_:_:)`` for work whose only result is success: 0, or the negative errno.
    static func status(_ function: StaticString, _ body: @escaping @Sendable () async throws(RADOSError) -> Void) -> Int32 {
        code(run(function, body))
    }

    /// 0 for success, else the error's negative errno.
    static func code<Value>(_ result: Result<Value, RADOSError>) -> Int32 {
        switch result {
        case .success: return 0
        case .failure(let error): return code(error)
        }
    }

    static func code(_ error: RADOSError) -> Int32 { -abs(error.errno) }

    /// One value handed from a task to a blocked thread.
    private final class Outcome<Value: Sendable>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        // Written once before `done` is signalled, read after waiting on it.
        private var value: Result<Value, RADOSError>?

        func set(_ value: Result<Value, RADOSError>) {
            self.value = value
            done.signal()
        }

        func wait() -> Result<Value, RADOSError> {
            done.wait()
            return value!
        }
    }
}

/// Opaque C handles (`rados_t`, `rados_ioctx_t`, `rbd_image_t`, `rbd_completion_t`):
/// each is a retained Swift object; destroying the handle releases it.
enum Handle {
    static func retain(_ object: AnyObject) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(object).toOpaque()
    }

    static func object<Object: AnyObject>(_ pointer: UnsafeMutableRawPointer?, as type: Object.Type) -> Object? {
        guard let pointer else { return nil }
        return Unmanaged<Object>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func release<Object: AnyObject>(_ pointer: UnsafeMutableRawPointer, as type: Object.Type) {
        Unmanaged<Object>.fromOpaque(pointer).release()
    }
}

/// Messages the C library prints on stderr, each at most once per process (librados
/// would log them; a C caller has no other channel).
enum Diagnostics {
    private static let printed = NIOLockedValueBox(Set<String>())

    static func once(_ key: String, _ message: @autoclosure () -> String) {
        let first = printed.withLockedValue { $0.insert(key).inserted }
        guard first else { return }
        FileHandle.standardError.write(Data("swiftrbd: \(message())\n".utf8))
    }

    /// The answer of a function this library does not implement yet: -EOPNOTSUPP, said
    /// once on stderr.
    static func notImplemented(_ function: StaticString) -> Int32 {
        once("unimplemented.\(function)", "\(function) is not implemented by SwiftRBD yet; returning -EOPNOTSUPP")
        return -EOPNOTSUPP
    }
}

/// A raw pointer carried into a `@Sendable` closure; the C caller keeps the memory valid
/// until the operation completes, as librbd requires.
struct CPointer: @unchecked Sendable {
    var raw: UnsafeMutableRawPointer?
}

extension String {
    /// A C string argument, nil for NULL.
    init?(cArgument pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }
}

/// Copies `text` and its NUL into `buffer` of `capacity` bytes: false (nothing written)
/// when it does not fit.
func copyCString(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, capacity: Int) -> Bool {
    let bytes = Array(text.utf8CString)
    guard let buffer, bytes.count <= capacity else { return false }
    bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: bytes.count) }
    return true
}
