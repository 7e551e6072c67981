import RADOSProto
import Testing
@testable import RBDCore

@Suite struct StriperTests {
    /// The reference model: where one image byte lives, straight from the definition of
    /// RAID-0 striping over object sets.
    static func locate(_ layout: StripeLayout, byte: UInt64) -> (object: UInt64, offset: UInt64) {
        let block = byte / layout.stripeUnit
        let stripe = block / layout.stripeCount
        let position = block % layout.stripeCount
        let set = stripe / (layout.objectSize / layout.stripeUnit)
        let object = set * layout.stripeCount + position
        let offset = (stripe % (layout.objectSize / layout.stripeUnit)) * layout.stripeUnit + byte % layout.stripeUnit
        return (object, offset)
    }

    @Test func defaultLayoutMapsBlocksToObjects() throws {
        let layout = try StripeLayout(objectSize: 4 << 20)
        // 8 KiB straddling the boundary between objects 0 and 1.
        let extents = Striper.objectExtents(layout, offset: (4 << 20) - 4096, length: 8192)
        #expect(extents == [
            ObjectExtent(objectNumber: 0, offset: (4 << 20) - 4096, length: 4096, bufferExtents: [BufferExtent(offset: 0, length: 4096)]),
            ObjectExtent(objectNumber: 1, offset: 0, length: 4096, bufferExtents: [BufferExtent(offset: 4096, length: 4096)]),
        ])
    }

    @Test func fancyStripingRoundRobinsAcrossTheSet() throws {
        // 64 KiB units over 8 objects of 1 MiB: unit k of the image goes to object k % 8.
        let layout = try StripeLayout(objectSize: 1 << 20, stripeUnit: 64 << 10, stripeCount: 8)
        let extents = Striper.objectExtents(layout, offset: 0, length: 9 * (64 << 10))
        #expect(extents.map(\.objectNumber) == Array(UInt64(0)..<8))
        #expect(extents[0].length == 128 << 10)  // units 0 and 8, contiguous in object 0
        #expect(extents[0].bufferExtents == [BufferExtent(offset: 0, length: 64 << 10), BufferExtent(offset: 8 * (64 << 10), length: 64 << 10)])
        #expect(extents[1].offset == 0 && extents[1].length == 64 << 10)
    }

    @Test(arguments: [
        (UInt64(4096), UInt64(4096), UInt64(1)),
        (UInt64(1) << 22, UInt64(1) << 22, UInt64(1)),
        (UInt64(1) << 20, UInt64(64) << 10, UInt64(8)),
        (UInt64(65536), UInt64(4096), UInt64(3)),
        (UInt64(8192), UInt64(512), UInt64(16)),
    ])
    func matchesTheReferenceModel(objectSize: UInt64, stripeUnit: UInt64, stripeCount: UInt64) throws {
        let layout = try StripeLayout(objectSize: objectSize, stripeUnit: stripeUnit, stripeCount: stripeCount)
        var rng = SplitMix64(seed: objectSize ^ stripeUnit ^ stripeCount)
        let span = objectSize * stripeCount * 3
        for _ in 0..<200 {
            let offset = UInt64.random(in: 0..<span, using: &rng)
            let length = UInt64.random(in: 1...min(span, objectSize * 2), using: &rng)
            let extents = Striper.objectExtents(layout, offset: offset, length: length, bufferOffset: 7)
            // Every byte of the request appears exactly once, where the model says.
            var covered: UInt64 = 0
            for extent in extents {
                var objectCursor = extent.offset
                var total: UInt64 = 0
                for piece in extent.bufferExtents {
                    for i in stride(from: UInt64(0), to: piece.length, by: Int(max(1, piece.length / 5))) {
                        let imageByte = offset + piece.offset - 7 + i
                        let where_ = Self.locate(layout, byte: imageByte)
                        #expect(where_.object == extent.objectNumber)
                        #expect(where_.offset == objectCursor + i)
                    }
                    objectCursor += piece.length
                    total += piece.length
                }
                #expect(total == extent.length)
                covered += extent.length
                // And back: the object extent maps to the same image bytes.
                let back = Striper.imageExtents(layout, objectNumber: extent.objectNumber, offset: extent.offset, length: extent.length)
                #expect(back.map(\.length).reduce(0, +) == extent.length)
                #expect(back.first?.offset == offset + (extent.bufferExtents.first?.offset ?? 7) - 7)
            }
            #expect(covered == length)
            #expect(extents.map(\.objectNumber) == extents.map(\.objectNumber).sorted())
            #expect(Set(extents.map(\.objectNumber)).count == extents.count)
        }
    }

    @Test func objectCountMatchesTheBytesAnImageCanReach() throws {
        let layout = try StripeLayout(objectSize: 1 << 20, stripeUnit: 64 << 10, stripeCount: 8)
        var rng = SplitMix64(seed: 42)
        for _ in 0..<100 {
            let size = UInt64.random(in: 1...(40 << 20), using: &rng)
            // The model: the highest object any byte reaches, plus one.
            var highest: UInt64 = 0
            var byte: UInt64 = 0
            while byte < size {
                highest = max(highest, Self.locate(layout, byte: byte).object)
                byte += layout.stripeUnit
            }
            #expect(Striper.objectCount(layout, imageSize: size) == highest + 1)
        }
        #expect(Striper.objectCount(try StripeLayout(objectSize: 4 << 20), imageSize: 1 << 30) == 256)
        #expect(Striper.objectCount(try StripeLayout(objectSize: 4 << 20), imageSize: 0) == 0)
    }

    @Test func invalidLayoutsAreRefused() {
        #expect(throws: RBDLayoutError.self) { try StripeLayout(objectSize: 4096, stripeUnit: 3000) }
        #expect(throws: RBDLayoutError.self) { try StripeLayout(objectSize: 4096, stripeUnit: 8192) }
        #expect(throws: RBDLayoutError.self) { try StripeLayout(objectSize: 4096, stripeUnit: 4096, stripeCount: 0) }
        #expect(throws: RBDLayoutError.self) { try StripeLayout(objectSize: 0) }
    }
}
