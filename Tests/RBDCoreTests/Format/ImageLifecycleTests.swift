import NIOCore
import RADOSProto
import Testing
@testable import RBDCore

/// Pure parts of the image lifecycle: feature lists, create validation (librbd's
/// `CreateRequest` checks), id generation, the trim plan (librbd's `TrimRequest`), and
/// the class-call encodings they add.
@Suite struct ImageLifecycleTests {
    @Test func featureListsParseLikeRbdDefaultFeatures() {
        #expect(RBDFeatures(parsing: "61") == .pacificDefault)
        #expect(RBDFeatures(parsing: "layering,exclusive-lock") == [.layering, .exclusiveLock])
        #expect(RBDFeatures(parsing: " layering , striping ") == [.layering, .stripingV2])
        #expect(RBDFeatures(parsing: "bogus") == nil)
        #expect(RBDFeatures(parsing: "4096") == nil)  // bit 12 is unknown
        #expect(RBDFeatures(parsing: "") == [])
    }

    func plan(_ options: ImageCreateOptions, size: UInt64 = 1 << 30, poolID: Int64 = 1) throws(RADOSError) -> CreatePlan {
        try CreatePlan(metadataPoolID: poolID, size: size, options: options)
    }

    @Test func createDefaultsAndDerivedFeatures() throws {
        let defaults = try plan(ImageCreateOptions())
        #expect(defaults.order == 22)
        #expect(defaults.features == .pacificDefault)
        #expect(!defaults.needsStripingCall)
        #expect(defaults.objectPrefix(id: "abc", metadataPoolID: 1) == "rbd_data.abc")

        // object-map brings fast-diff; non-default striping adds striping; a data pool adds data-pool.
        let striped = try plan(ImageCreateOptions(order: 20, features: [.layering, .exclusiveLock, .objectMap], stripeUnit: 65536, stripeCount: 8, dataPoolID: 4))
        #expect(striped.features == [.layering, .exclusiveLock, .objectMap, .fastDiff, .stripingV2, .dataPool])
        #expect(striped.needsStripingCall)
        #expect(striped.objectPrefix(id: "abc", metadataPoolID: 1) == "rbd_data.1.abc")
        #expect(striped.objectCount(size: 4 << 20) == 8)

        // Stripe unit = object size and count 1 is the default layout: no striping feature.
        let plain = try plan(ImageCreateOptions(order: 20, features: [.layering, .stripingV2], stripeUnit: 1 << 20, stripeCount: 1, dataPoolID: 1))
        #expect(plain.features == [.layering])
        #expect(!plain.needsStripingCall)
    }

    @Test func createRefusesWhatLibrbdRefuses() {
        let refused: [(ImageCreateOptions, Int32)] = [
            (ImageCreateOptions(order: 11), 33),
            (ImageCreateOptions(order: 26), 33),
            (ImageCreateOptions(features: [.layering, .objectMap]), 22),  // object map without exclusive lock
            (ImageCreateOptions(features: [.fastDiff, .exclusiveLock]), 22),  // fast diff without object map
            (ImageCreateOptions(features: [.journaling]), 22),
            (ImageCreateOptions(features: [.layering, .operations]), 22),
            (ImageCreateOptions(features: RBDFeatures(rawValue: 1 << 20)), 38),
            (ImageCreateOptions(stripeUnit: 65536), 22),  // unit without count
            (ImageCreateOptions(stripeUnit: 3000, stripeCount: 2), 22),  // not a factor of 4 MiB
            (ImageCreateOptions(order: 16, stripeUnit: 1 << 17, stripeCount: 2), 22),  // larger than the object
        ]
        for (options, errno) in refused {
            do {
                _ = try plan(options)
                Issue.record("accepted \(options)")
            } catch {
                #expect(error.errno == errno, "\(options)")
            }
        }
        // An object map tracks at most 256 Mi objects.
        #expect(throws: RADOSError.self) { _ = try plan(ImageCreateOptions(order: 12), size: (256 << 20) * 4096 + 1) }
        #expect(throws: Never.self) { _ = try plan(ImageCreateOptions(order: 12, features: [.layering]), size: (256 << 20) * 4096 + 1) }
    }

    @Test func imageIDsLookLikeLibrbds() {
        let id = Image.generateImageID(instanceID: 0x10c2)
        #expect(id.hasPrefix("10c2"))
        #expect(id.count <= 14)
        let isHex = id.allSatisfy { $0.isHexDigit }
        #expect(isHex)
        // A long instance id keeps the last 14 characters.
        #expect(Image.generateImageID(instanceID: .max).count == 14)
    }

    @Test func trimPlanFollowsTrimRequest() throws {
        // Plain 4 MiB objects: 10 MiB → 5 MiB removes objects 2 and cuts object 1 at 1 MiB.
        let plain = try StripeLayout(objectSize: 4 << 20)
        let plan1 = ImageTrim.plan(plain, from: 10 << 20, to: 5 << 20)
        #expect(plan1.removed == 2..<3)
        #expect(plan1.cut.map(\.objectNumber) == [1])
        #expect(plan1.cut.map(\.length) == [1 << 20])
        // Shrinking to an object boundary cuts nothing.
        #expect(ImageTrim.plan(plain, from: 10 << 20, to: 8 << 20) == ImageTrim.Plan(removed: 2..<3, cut: []))
        // To zero: everything goes.
        #expect(ImageTrim.plan(plain, from: 10 << 20, to: 0).removed == 0..<3)
        // Growing or the same size: nothing.
        #expect(ImageTrim.plan(plain, from: 1 << 20, to: 2 << 20).removed.isEmpty)

        // Striped 1 MiB objects, 64 KiB units, 4 per stripe (period 4 MiB): 6 MiB → 2.5 MiB.
        // Objects 4… (the second object set) go; in the first set the range
        // [2.5 MiB, 4 MiB) starts at object offset 640 KiB in each.
        let striped = try StripeLayout(objectSize: 1 << 20, stripeUnit: 65536, stripeCount: 4)
        let plan2 = ImageTrim.plan(striped, from: 6 << 20, to: 5 << 19)
        #expect(plan2.removed == 4..<8)
        #expect(plan2.cut.map(\.objectNumber) == [0, 1, 2, 3])
        #expect(plan2.cut.map(\.length) == [655_360, 655_360, 655_360, 655_360])
        // 6 MiB → 100 KiB: object 0 keeps 64 KiB, object 1 keeps 36 KiB, objects 2 and 3 are removed (cut to 0).
        let plan3 = ImageTrim.plan(striped, from: 6 << 20, to: 100 << 10)
        #expect(plan3.cut.map(\.objectNumber) == [0, 1, 2, 3])
        #expect(plan3.cut.map(\.length) == [65536, 36 << 10, 0, 0])
    }

    @Test func newClassCallsEncode() throws {
        let children = ClsRBD.getChildren(poolID: 2, imageID: "ab", snapID: 7)
        #expect(ClsRBDTests.callInput(children, method: "get_children") == [2, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0x61, 0x62] + [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(ClsRBDTests.callInput(ClsRBD.directoryStateAssert(), method: "dir_state_assert") == [0])
        #expect(try ClsRBD.decodeChildren(ByteBuffer(bytes: [1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0x62])) == ["ab"])
        #expect(try ClsRBD.decodeProtectionStatus(ByteBuffer(bytes: [2])) == .protected)
        #expect(throws: DencError.self) { try ClsRBD.decodeProtectionStatus(ByteBuffer(bytes: [3])) }
        #expect(throws: DencError.self) { try ClsRBD.decodeChildren(ByteBuffer(bytes: [0xff, 0xff, 0xff, 0x7f])) }
    }
}
