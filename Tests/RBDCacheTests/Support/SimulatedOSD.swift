import NIOCore

/// A seeded generator, so a failing random run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The test's stand-in for the OSDs: objects of `objectSize` bytes (absent bytes read as
/// zeros). RADOS applies one client's requests to an object in the order they were
/// sent, so a request takes effect (or reads) when the machine sends it; only its
/// completion is reported later, in any order the test picks.
struct SimulatedOSD {
    let objectSize: Int
    var objects: [UInt64: [UInt8]] = [:]

    init(objectSize: Int) { self.objectSize = objectSize }

    func bytes(_ object: UInt64, _ offset: UInt64, _ length: UInt64) -> [UInt8] {
        let stored = objects[object] ?? []
        return (Int(offset)..<Int(offset + length)).map { $0 < stored.count ? stored[$0] : 0 }
    }

    mutating func write(_ object: UInt64, _ offset: UInt64, _ data: [UInt8]) {
        var stored = objects[object] ?? []
        let end = Int(offset) + data.count
        if stored.count < end { stored += [UInt8](repeating: 0, count: end - stored.count) }
        stored.replaceSubrange(Int(offset)..<end, with: data)
        objects[object] = stored
    }

    mutating func zero(_ object: UInt64, _ range: Range<UInt64>) {
        guard var stored = objects[object] else { return }
        for index in range where Int(index) < stored.count { stored[Int(index)] = 0 }
        objects[object] = stored
    }
}

/// What the application should see: every write and discard applied in submission order.
struct ReferenceImage {
    var objects: [UInt64: [UInt8]] = [:]
    let objectSize: Int

    func bytes(_ object: UInt64, _ offset: UInt64, _ length: UInt64) -> [UInt8] {
        let stored = objects[object] ?? [UInt8](repeating: 0, count: objectSize)
        return Array(stored[Int(offset)..<Int(offset + length)])
    }

    mutating func write(_ object: UInt64, _ offset: UInt64, _ data: [UInt8]) {
        var stored = objects[object] ?? [UInt8](repeating: 0, count: objectSize)
        stored.replaceSubrange(Int(offset)..<Int(offset) + data.count, with: data)
        objects[object] = stored
    }
}

extension ByteBuffer {
    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }

    init(bytes: [UInt8]) {
        self = ByteBuffer()
        writeBytes(bytes)
    }
}

struct TestFailure: Error, Equatable {
    var code: Int
}
