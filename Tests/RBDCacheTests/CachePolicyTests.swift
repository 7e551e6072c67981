import Testing
@testable import RBDCache

@Suite struct CachePolicyTests {
    // The three QEMU cache modes of Ceph's "QEMU and RBD" guide.
    @Test func qemuModesMapToCephSettings() {
        let writeback = CachePolicy(enabled: true, maxDirtyBytes: 24 << 20, writethroughUntilFlush: false)
        let writethrough = CachePolicy(enabled: true, maxDirtyBytes: 0, writethroughUntilFlush: false)
        let none = CachePolicy(enabled: false, maxDirtyBytes: 24 << 20, writethroughUntilFlush: false)
        #expect(writeback.mode(afterFirstFlush: false) == .writeback)
        #expect(writethrough.mode(afterFirstFlush: true) == .writethrough)
        #expect(none.mode(afterFirstFlush: true) == CacheMode.none)
    }

    @Test func writethroughUntilFirstFlush() {
        let policy = CachePolicy(enabled: true, maxDirtyBytes: 1 << 20, writethroughUntilFlush: true)
        #expect(policy.mode(afterFirstFlush: false) == .writethrough)
        #expect(policy.mode(afterFirstFlush: true) == .writeback)
    }
}
