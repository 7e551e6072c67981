/// Self-describing 4 KiB blocks for the durability tests: each carries its offset, a
/// generation and an FNV-1a checksum of the rest, then bytes drawn from both, so a block
/// read back says which write it came from and whether it is whole.
public enum CheckedBlocks {
    public static let blockSize = 4096

    /// Block `index` as written in `generation`.
    public static func block(_ index: UInt64, generation: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: blockSize)
        var state = index &* 0x9E37_79B9_7F4A_7C15 ^ generation
        for position in stride(from: 24, to: blockSize, by: 8) {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z.littleEndian) { bytes.replaceSubrange(position..<position + 8, with: $0) }
        }
        withUnsafeBytes(of: (index * UInt64(blockSize)).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: generation.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        withUnsafeBytes(of: checksum(bytes[24...]).littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
        return bytes
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// What a block read back is: all zeros, a whole block of some generation, or broken.
    public enum Reading: Equatable, CustomStringConvertible {
        case zeros
        case intact(offset: UInt64, generation: UInt64)
        case broken

        public var description: String {
            switch self {
            case .zeros: return "zeros"
            case .intact(let offset, let generation): return "offset \(offset) generation \(generation)"
            case .broken: return "a broken block (checksum does not hold)"
            }
        }
    }

    public static func read(_ bytes: ArraySlice<UInt8>) -> Reading {
        guard bytes.count == blockSize else { return .broken }
        if bytes.allSatisfy({ $0 == 0 }) { return .zeros }
        let base = bytes.startIndex
        func u64(_ at: Int) -> UInt64 {
            var value: UInt64 = 0
            for k in 0..<8 { value |= UInt64(bytes[base + at + k]) << (8 * UInt64(k)) }
            return value
        }
        guard checksum(bytes[(base + 24)...]) == u64(16) else { return .broken }
        let reading = Reading.intact(offset: u64(0), generation: u64(8))
        // The checksum covers the drawn bytes only: the header must match them too.
        return Array(bytes) == block(u64(0) / UInt64(blockSize), generation: u64(8)) ? reading : .broken
    }

    /// The block the crash writer writes in `generation` (a fixed function, so the test
    /// recomputes every write).
    public static func index(of generation: UInt64, blocks: UInt64) -> UInt64 {
        var z = generation &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) % blocks
    }
}
