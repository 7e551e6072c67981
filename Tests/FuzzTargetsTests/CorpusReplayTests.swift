import Foundation
import Testing
@testable import FuzzTargets

/// The fuzz corpus, replayed without libFuzzer: every seed in `Fuzz/Corpus/<target>` is a
/// valid input its target accepts (so the fuzzer starts from real structure), and every
/// input in `Fuzz/Regressions/<target>` (inputs that once crashed or hung a target) now
/// returns. Seeded mutations of the seeds follow, so the decoders see hostile variants
/// of real data in every test run, not only in fuzz runs.
@Suite struct CorpusReplayTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everySeedIsAcceptedByItsTarget(_ target: FuzzTarget) throws {
        let seeds = Self.files("Corpus", target)
        #expect(!seeds.isEmpty, "Fuzz/Corpus/\(target.rawValue) has no seeds")
        for seed in seeds {
            let bytes = [UInt8](try Data(contentsOf: seed))
            #expect(target.run(bytes), "\(target.rawValue): seed \(seed.lastPathComponent) is rejected by its decoder")
        }
    }

    /// The time limit only turns a hang (one was found: a CRUSH map whose tries multiply
    /// into hours) into a failure instead of a stuck suite.
    @Test(.timeLimit(.minutes(1)), arguments: FuzzTarget.allCases)
    func regressionInputsReturn(_ target: FuzzTarget) throws {
        for input in Self.files("Regressions", target) {
            target.run([UInt8](try Data(contentsOf: input)))
        }
    }

    /// Bit flips, truncations, byte insertions and length-field corruptions of each seed
    /// (a fixed seed, so a failure reproduces); the decoders must return.
    @Test(arguments: FuzzTarget.allCases)
    func mutatedSeedsReturn(_ target: FuzzTarget) throws {
        var state: UInt64 = 0x5EED_F00D ^ UInt64(target.rawValue.utf8.count)
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var rejected = 0
        var total = 0
        for seed in Self.files("Corpus", target) {
            let original = [UInt8](try Data(contentsOf: seed))
            guard !original.isEmpty else { continue }
            for _ in 0..<200 {
                var bytes = original
                switch next() % 4 {
                case 0:
                    let index = Int(next() % UInt64(bytes.count))
                    bytes[index] ^= UInt8(truncatingIfNeeded: 1 << (next() % 8))
                case 1:
                    bytes.removeLast(Int(next() % UInt64(bytes.count)))
                case 2:
                    bytes.insert(UInt8(truncatingIfNeeded: next()), at: Int(next() % UInt64(bytes.count + 1)))
                default:
                    // A 32-bit little-endian field overwritten with a huge length.
                    let index = Int(next() % UInt64(bytes.count))
                    let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0x7F]
                    for k in 0..<4 where index + k < bytes.count { bytes[index + k] = huge[k] }
                }
                total += 1
                if !target.run(bytes) { rejected += 1 }
            }
        }
        // Mutations must reach the decoders' error paths, not only their happy paths.
        #expect(total == 0 || rejected > 0, "\(target.rawValue): none of \(total) mutated seeds was rejected")
    }
}
