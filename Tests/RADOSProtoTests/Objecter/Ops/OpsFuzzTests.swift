import NIOCore
import Testing
@testable import RADOSProto

/// Seeded mutations of every op-output and message fixture: each decoder either
/// succeeds or throws a `DencError`; none traps or throws anything else.
@Suite struct OpsFuzzTests {
    static let decoders: [(name: String, fixture: [UInt8], decode: @Sendable (ByteBuffer) throws -> Void)] = [
        ("stat", ObjectStatTests.fixture, { _ = try ObjectStat.decode($0) }),
        ("getxattrs", ObjectXattrsTests.fixture, { _ = try ObjectXattrs.decode($0) }),
        ("sparse_read", SparseReadResultTests.fixture, { _ = try SparseReadResult.decode($0).dense(offset: 0, length: 64) }),
        ("omap_get_keys", OmapOutputTests.keysFixture, { _ = try OmapKeysPage.decode($0, maxReturn: 2) }),
        ("omap_get_vals", OmapOutputTests.valuesFixture, { _ = try OmapValuesPage.decode($0, maxReturn: 2) }),
        ("omap_get_vals_by_keys", Array(OmapOutputTests.valuesFixture.dropLast()), { _ = try OmapValues.decode($0) }),
        ("pg_nls", PGNamespacedListTests.fixture, { _ = try PGNamespacedListResponse.decode($0) }),
        ("notify_complete", NotifyCompletionTests.fixture, { _ = try NotifyCompletion.decode($0) }),
        ("list_watchers", WatcherListTests.fixture, { _ = try WatcherList.decode($0).watchers.map { $0.address?.description } }),
        ("list_snaps", ObjectSnapListTests.fixture, { _ = try ObjectSnapList.decode($0) }),
        ("MWatchNotify", MWatchNotifyTests.fixture, { _ = try MWatchNotify.decode(front: $0, version: 3) }),
        ("MOSDBackoff", MOSDBackoffTests.fixture, { _ = try MOSDBackoff.decode(front: $0, version: 1) }),
    ]

    @Test(arguments: 0..<decoders.count)
    func mutatedInputsNeverTrap(index: Int) {
        let (name, fixture, decode) = Self.decoders[index]
        var random = SeededGenerator(seed: 0x0B5_0000 + UInt64(index))
        for round in 0..<400 {
            var bytes = fixture
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[position] = 0xFF
                default: bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                }
            }
            do {
                try decode(ByteBuffer(bytes: bytes))
            } catch is DencError {
                continue
            } catch {
                Issue.record("\(name) round \(round): unexpected \(error)")
            }
        }
    }
}
