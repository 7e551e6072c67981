import Dispatch
import Testing

/// Runs a suite's tests on Dispatch threads instead of Swift's cooperative pool.
///
/// The cooperative pool has as many threads as the machine has cores (two in CI). A
/// synchronous test that waits for `rbd`/`ceph`/`osdmaptool` or computes CRUSH for a
/// while holds one of them for its whole run; two such tests stopped every other test
/// (and every client session's continuations) for about a minute at the start of
/// `make test`, so a client test with a 20 s timeout saw its first connect attempt
/// answered after the deadline. With this trait a suite's test functions run on
/// ``DispatchTaskExecutor`` (a Dispatch thread per blocked test), and the pool stays
/// free for the clients under test. `PoolStarvationTests` starve the pool on purpose
/// and do not use it.
struct OffTheCooperativePool: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // A suite's own scope has no test case; the functions run per case.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(DispatchTaskExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffTheCooperativePool {
    /// The suite's tests run on Dispatch threads (see ``OffTheCooperativePool``).
    static var offTheCooperativePool: Self { OffTheCooperativePool() }
}

/// A task executor that runs each job on Dispatch's global concurrent queue, which adds
/// threads while others block (unlike the cooperative pool, which never grows).
final class DispatchTaskExecutor: TaskExecutor {
    static let shared = DispatchTaskExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
