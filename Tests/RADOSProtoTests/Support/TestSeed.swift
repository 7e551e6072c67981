import Foundation
import Testing

/// The seed of a randomized (fuzz-style) test, so any failure can be replayed.
///
/// The seed is `SWIFTRBD_TEST_SEED` when that is set (decimal or `0x` hex), otherwise a
/// fresh one per run, so repeated runs keep exploring new inputs. It is printed to
/// standard error when the test starts (unbuffered: it survives a trap), and
/// ``comment`` goes into every expectation, so a failure says how to run it again:
///
///     SWIFTRBD_TEST_SEED=0x… swift test --filter RADOSProtoTests.SessionReplayTests/randomCorruptionNeverTraps
///
/// The generator itself is the target's SplitMix64 (``SeededGenerator``).
struct TestSeed: CustomStringConvertible, Sendable {
    static let variable = "SWIFTRBD_TEST_SEED"

    let value: UInt64
    /// What `swift test --filter` takes to run just this test.
    let filter: String

    /// The seed for `function` of `suite`; prints it at once.
    init<Suite>(_ suite: Suite.Type, function: String = #function, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let name = function.split(separator: "(", maxSplits: 1).first.map(String.init) ?? function
        filter = "\(String(reflecting: suite))/\(name)"
        var source = "fresh"
        if let text = environment[Self.variable], !text.isEmpty {
            if let parsed = Self.parse(text) {
                value = parsed
                source = "from \(Self.variable)"
            } else {
                Issue.record("\(Self.variable)=\(text) is not a decimal or 0x-hex UInt64; using a fresh seed instead")
                value = UInt64.random(in: 0...UInt64.max)
            }
        } else {
            value = UInt64.random(in: 0...UInt64.max)
        }
        FileHandle.standardError.write(Data("[\(filter)] \(source) random seed \(hex); replay: \(replay)\n".utf8))
    }

    static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed.hasPrefix("0x") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }

    var hex: String { "0x" + String(value, radix: 16) }

    /// The command that runs this test again with this seed.
    var replay: String { "\(Self.variable)=\(hex) swift test --filter \(filter)" }

    var description: String { "seed \(hex) (replay: \(replay))" }

    /// For `#expect(…, seed.comment)` and `Issue.record(…)`.
    var comment: Comment { Comment(rawValue: description) }

    /// A fresh generator at this seed.
    func generator() -> SeededGenerator { SeededGenerator(seed: value) }
}
