import Testing
@testable import RBDCache

/// librbd's readahead rules, driven by hand (ceph/ceph `src/common/Readahead.cc`).
@Suite struct ReadaheadTests {
    @Test func startsAfterTheTriggerCountOfSequentialReads() {
        var readahead = Readahead(triggerRequests: 3, maxBytes: 1 << 20)
        // The first read starts a run (it does not follow a read); the next ones follow.
        var offset: UInt64 = 4096
        for _ in 0..<3 {
            #expect(readahead.update(offset: offset, length: 4096, limit: 1 << 30) == nil)
            offset += 4096
        }
        // The third read in a row: they covered 12 KiB, so that much is read ahead.
        #expect(readahead.update(offset: offset, length: 4096, limit: 1 << 30) == 20480..<32768)
    }

    @Test func growsByDoublingWhenTheReaderPassesTheMiddleUpToTheMaximum() {
        var readahead = Readahead(triggerRequests: 1, maxBytes: 64 << 10)
        #expect(readahead.update(offset: 100, length: 8092, limit: 1 << 30) == nil)
        let first = readahead.update(offset: 8192, length: 8192, limit: 1 << 30)
        #expect(first == 16384..<24576)
        // Below the middle of what was read ahead: nothing more yet.
        #expect(readahead.update(offset: 16384, length: 2048, limit: 1 << 30) == nil)
        let second = readahead.update(offset: 18432, length: 4096, limit: 1 << 30)
        #expect(second == 24576..<40960)
        var last = second
        var position: UInt64 = 22528
        for _ in 0..<20 {
            let next = readahead.update(offset: position, length: 32768, limit: 1 << 30)
            position += 32768
            if let next { last = next }
        }
        #expect(last.map { $0.count } == 64 << 10)
    }

    @Test func aReadElsewhereStartsOver() {
        var readahead = Readahead(triggerRequests: 1, maxBytes: 1 << 20)
        _ = readahead.update(offset: 0, length: 4096, limit: 1 << 30)
        #expect(readahead.update(offset: 4096, length: 4096, limit: 1 << 30) != nil)
        #expect(readahead.update(offset: 1 << 20, length: 4096, limit: 1 << 30) == nil)
    }

    @Test func snapsToABoundaryAndStopsAtTheEnd() {
        // 12 KiB ahead from 20 KiB would end at 32 KiB + 0: a 16 KiB boundary is 0 away.
        var aligned = Readahead(triggerRequests: 1, maxBytes: 1 << 20, alignments: [16384])
        _ = aligned.update(offset: 0, length: 6144, limit: 1 << 30)
        // 12 KiB read in a row, ahead from 18 KiB would end at 30 KiB: snapped up to 32 KiB.
        #expect(aligned.update(offset: 6144, length: 12288, limit: 1 << 30) == 18432..<32768)
        var short = Readahead(triggerRequests: 1, maxBytes: 1 << 20)
        _ = short.update(offset: 0, length: 4096, limit: 10000)
        #expect(short.update(offset: 4096, length: 4096, limit: 10000) == 8192..<10000)
        #expect(short.update(offset: 8192, length: 1808, limit: 10000) == nil)
    }

    @Test func zeroMaximumMeansNone() {
        var readahead = Readahead(triggerRequests: 0, maxBytes: 0)
        #expect(readahead.update(offset: 0, length: 4096, limit: 1 << 30) == nil)
        #expect(readahead.update(offset: 4096, length: 4096, limit: 1 << 30) == nil)
    }
}
