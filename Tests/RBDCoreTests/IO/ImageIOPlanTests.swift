import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// The planning half of image I/O against byte-level reference models: where each image
/// byte lives (StriperTests.locate), and what a discard must leave behind.
@Suite struct ImageIOPlanTests {
    static func randomLayout(_ rng: inout SplitMix64) throws -> StripeLayout {
        let objectSize = UInt64(1) << UInt64.random(in: 12...16, using: &rng)
        let unit = objectSize >> UInt64.random(in: 0...3, using: &rng)
        let count = unit == objectSize ? 1 : UInt64.random(in: 1...5, using: &rng)
        return try StripeLayout(objectSize: objectSize, stripeUnit: unit, stripeCount: count)
    }

    // MARK: clip_io

    @Test func clipFollowsClipIO() throws {
        #expect(try ImageIOPlan.clip(offset: 0, length: 10, size: 100) == 10)
        #expect(try ImageIOPlan.clip(offset: 90, length: 20, size: 100) == 10)
        #expect(try ImageIOPlan.clip(offset: 100, length: 0, size: 100) == 0)
        #expect(try ImageIOPlan.clip(offset: 500, length: 0, size: 100) == 0)
        #expect(throws: RADOSError.self) { try ImageIOPlan.clip(offset: 100, length: 1, size: 100) }
        do {
            _ = try ImageIOPlan.clip(offset: 101, length: 1, size: 100)
            Issue.record("a start past the end was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.errno == 22)
        }
    }

    // MARK: single-piece fast path

    @Test func singlePieceAgreesWithTheExtentList() throws {
        var rng = SplitMix64(seed: 0x5106_1e)
        for _ in 0..<2000 {
            let layout = try Self.randomLayout(&rng)
            let span = layout.objectSize * layout.stripeCount * 3
            let offset = UInt64.random(in: 0..<span, using: &rng)
            let length = UInt64.random(in: 1...(layout.stripeUnit * 2), using: &rng)
            let extents = Striper.objectExtents(layout, offset: offset, length: length)
            if let piece = ImageIOPlan.singlePiece(layout, offset: offset, length: length) {
                #expect(extents.count == 1)
                #expect(extents.first?.bufferExtents.count == 1)
                #expect(extents.first?.objectNumber == piece.objectNumber)
                #expect(extents.first?.offset == piece.objectOffset)
                let located = StriperTests.locate(layout, byte: offset)
                #expect(located.object == piece.objectNumber && located.offset == piece.objectOffset)
            } else {
                #expect(extents.count > 1 || (extents.first?.bufferExtents.count ?? 0) > 1)
            }
        }
    }

    // MARK: write gather and read scatter

    /// Writing random ranges through the extent plan (gathered per object) into an object
    /// model and reading random ranges back (scattered from the objects) gives what a
    /// flat image model holds.
    @Test func gatherAndScatterRoundTripThroughObjects() throws {
        var rng = SplitMix64(seed: 0xfeed_beef)
        for _ in 0..<60 {
            let layout = try Self.randomLayout(&rng)
            let size = layout.objectSize * layout.stripeCount * UInt64.random(in: 1...3, using: &rng) + UInt64.random(in: 0..<layout.objectSize, using: &rng)
            var image = [UInt8](repeating: 0, count: Int(size))
            var objects: [UInt64: [UInt8]] = [:]
            for step in 0..<20 {
                let offset = UInt64.random(in: 0..<size, using: &rng)
                let length = UInt64.random(in: 1...min(size - offset, layout.objectSize * 3), using: &rng)
                let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ UInt64(step) &+ 1) }
                image.replaceSubrange(Int(offset)..<Int(offset + length), with: bytes)
                let data = ByteBuffer(bytes: bytes)
                for extent in Striper.objectExtents(layout, offset: offset, length: length) {
                    let piece = Image.gather(data, extent.bufferExtents)
                    #expect(UInt64(piece.readableBytes) == extent.length)
                    var object = objects[extent.objectNumber] ?? []
                    let end = Int(extent.offset + extent.length)
                    if object.count < end { object += [UInt8](repeating: 0, count: end - object.count) }
                    object.replaceSubrange(Int(extent.offset)..<end, with: piece.readableBytesView)
                    objects[extent.objectNumber] = object
                }
            }
            for _ in 0..<20 {
                let offset = UInt64.random(in: 0..<size, using: &rng)
                let length = UInt64.random(in: 1...min(size - offset, layout.objectSize * 3), using: &rng)
                var out = ByteBuffer(repeating: 0, count: Int(length))
                for extent in Striper.objectExtents(layout, offset: offset, length: length) {
                    // Objects answer like the OSD: short at their end, absent when never written.
                    guard let object = objects[extent.objectNumber] else { continue }
                    let from = min(Int(extent.offset), object.count)
                    let to = min(Int(extent.offset + extent.length), object.count)
                    let answer: Image.ObjectReadResult = Bool.random(using: &rng)
                        ? .dense(ByteBuffer(bytes: object[from..<to]))
                        : .sparse(SparseReadResult(extents: from < to ? [.init(offset: UInt64(from), length: UInt64(to - from))] : [], data: ByteBuffer(bytes: object[from..<to])))
                    answer.scatter(into: &out, extent: extent)
                }
                let same = Array(out.readableBytesView) == Array(image[Int(offset)..<Int(offset + length)])
                #expect(same, "read \(offset)+\(length) on \(layout)")
            }
        }
    }

    // MARK: discard

    /// What a discard must do, from first principles: in each object the discarded bytes
    /// form one run (a contiguous image range lands contiguously in each object); with a
    /// granularity, a byte goes only if its whole granularity block of the object is in
    /// the run, except that a run reaching the object's end goes whole when the
    /// granularity is the object size or more.
    static func expectedDiscard(_ layout: StripeLayout, offset: UInt64, length: UInt64, granularity: UInt64) -> [UInt64: Range<UInt64>] {
        var runs: [UInt64: Range<UInt64>] = [:]
        for byte in offset..<(offset + length) {
            let (object, at) = StriperTests.locate(layout, byte: byte)
            if let run = runs[object] {
                runs[object] = min(run.lowerBound, at)..<max(run.upperBound, at + 1)
            } else {
                runs[object] = at..<(at + 1)
            }
        }
        guard granularity > 0 else { return runs }
        let block = min(granularity, layout.objectSize)
        var result: [UInt64: Range<UInt64>] = [:]
        for (object, run) in runs {
            if granularity >= layout.objectSize, run.upperBound == layout.objectSize {
                result[object] = run
                continue
            }
            let kept = (run.lowerBound..<run.upperBound).filter { byte in
                let blockStart = byte / block * block
                return blockStart >= run.lowerBound && blockStart + block <= run.upperBound
            }
            if let first = kept.first, let last = kept.last { result[object] = first..<(last + 1) }
        }
        return result
    }

    @Test func discardPlanMatchesTheReferenceModel() throws {
        var rng = SplitMix64(seed: 0xd15c_a4d)
        for _ in 0..<400 {
            let layout = try Self.randomLayout(&rng)
            let size = layout.objectSize * layout.stripeCount * 2
            let offset = UInt64.random(in: 0..<size, using: &rng)
            let length = UInt64.random(in: 1...(size - offset), using: &rng)
            let granularity = [0, 512, 4096, layout.objectSize, layout.objectSize * 2][Int.random(in: 0..<5, using: &rng)]
            let plan = ImageIOPlan.discard(layout, offset: offset, length: length, granularity: granularity)
            let expected = Self.expectedDiscard(layout, offset: offset, length: length, granularity: granularity)

            // Apply the plan to full objects of 0xAB and compare byte by byte.
            var objects: [UInt64: [UInt8]] = [:]
            for object in expected.keys { objects[object] = [UInt8](repeating: 0xAB, count: Int(layout.objectSize)) }
            for operation in plan {
                #expect(Set(plan.map(\.objectNumber)).count == plan.count, "one operation per object")
                switch operation.action {
                case .remove:
                    objects[operation.objectNumber] = nil
                case .truncate(let at):
                    objects[operation.objectNumber] = Array((objects[operation.objectNumber] ?? []).prefix(Int(at)))
                case .zero(let at, let count):
                    #expect(at + count < layout.objectSize, "a zero never reaches the object end (that is a truncate)")
                    if var object = objects[operation.objectNumber] {
                        object.replaceSubrange(Int(at)..<Int(at + count), with: [UInt8](repeating: 0, count: Int(count)))
                        objects[operation.objectNumber] = object
                    }
                }
            }
            for (object, run) in expected {
                let whole = run == 0..<layout.objectSize
                let removed = plan.contains { $0.objectNumber == object && $0.action == .remove }
                #expect(whole == removed, "whole-object discards remove the object (\(layout), \(offset)+\(length), g \(granularity))")
                let content = objects[object] ?? []
                var mismatch: Int?
                for index in 0..<Int(layout.objectSize) {
                    let value: UInt8 = index < content.count ? content[index] : 0
                    let want: UInt8 = run.contains(UInt64(index)) ? 0 : 0xAB
                    if value != want { mismatch = index; break }
                }
                #expect(mismatch == nil, "object \(object) differs at \(mismatch ?? -1) (\(layout), \(offset)+\(length), g \(granularity))")
            }
            // Objects the model leaves untouched get no operation.
            #expect(plan.allSatisfy { expected[$0.objectNumber] != nil })
        }
    }

    @Test func pacificDefaultSkipsSmallDiscards() throws {
        let layout = try StripeLayout(objectSize: 4 << 20)
        // 4 KiB inside a 64 KiB block: nothing; 64 KiB aligned: one zero; the tail: truncate.
        #expect(ImageIOPlan.discard(layout, offset: 4096, length: 4096, granularity: 64 << 10).isEmpty)
        #expect(ImageIOPlan.discard(layout, offset: 60 << 10, length: 72 << 10, granularity: 64 << 10) == [.init(objectNumber: 0, action: .zero(offset: 64 << 10, length: 64 << 10))])
        #expect(ImageIOPlan.discard(layout, offset: (4 << 20) - 100_000, length: 100_000, granularity: 64 << 10) == [.init(objectNumber: 0, action: .truncate(offset: (4 << 20) - (64 << 10)))])
        #expect(ImageIOPlan.discard(layout, offset: 0, length: 8 << 20, granularity: 64 << 10) == [.init(objectNumber: 0, action: .remove), .init(objectNumber: 1, action: .remove)])
        // Write-zeroes (granularity 0) zeroes exactly.
        #expect(ImageIOPlan.discard(layout, offset: 4096, length: 4096, granularity: 0) == [.init(objectNumber: 0, action: .zero(offset: 4096, length: 4096))])
    }

    @Test func discardGranularityFollowsTheConfiguration() throws {
        func granularity(_ arguments: [String]) throws -> UInt64 {
            try Image.discardGranularity(RADOSConfiguration.load(arguments: arguments, environment: [:], searchDefaultPaths: false))
        }
        #expect(try granularity([]) == 64 << 10)
        #expect(try granularity(["--rbd_discard_granularity_bytes", "1M"]) == 1 << 20)
        #expect(try granularity(["--rbd_skip_partial_discard=false", "--rbd_discard_granularity_bytes", "1M"]) == 0)
        #expect(throws: RADOSError.self) { try granularity(["--rbd_discard_granularity_bytes", "5000"]) }
    }
}

@Suite struct DataObjectNameTests {
    @Test func equalsTheFormattedName() {
        var rng = SplitMix64(seed: 0x0b1ec7)
        for prefix in ["rbd_data.10ab2c3d4e5f", "rbd_data.7.1f2e3d4c5b6a", ""] {
            for number in [0, 1, 0xF, 0x10, UInt64.max] + (0..<200).map({ _ in UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng) }) {
                #expect(DataObjectName.make(prefix: prefix, objectNumber: number) == RBDObjectNames.data(prefix: prefix, objectNumber: number))
            }
        }
    }
}
