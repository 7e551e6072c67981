import ArgumentParser
import Foundation
import NIOCore
import RADOSProto

/// `rbdctl crush`: CRUSH map tools, output-compatible with Ceph's `crushtool`.
struct CrushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crush",
        abstract: "Inspect and test binary CRUSH maps (like crushtool).",
        subcommands: [Test.self]
    )

    /// `rbdctl crush test`: the `crushtool --test --show-mappings` lines, computed by SwiftRBD's mapper.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Map inputs through the map's rules and print crushtool's 'CRUSH rule R x X [..]' lines.",
            discussion: "Example:\n  rbdctl crush test -i crush.bin --rule 0 --num-rep 3 --min-x 0 --max-x 9"
        )

        @Option(name: [.customShort("i"), .customLong("infn")], help: "Binary CRUSH map (crushtool -c / --build output).")
        var input: String

        @Option(name: .customLong("num-rep"), help: "Replicas to ask for (default: each rule's min..max size).")
        var numRep: Int?

        @Option(name: .customLong("rule"), help: "Only this rule id.")
        var rule: Int?

        @Option(name: .customLong("min-x"), help: "First input (like crushtool, 0...1023 unless both ends are given).")
        var minX: Int32?

        @Option(name: .customLong("max-x"), help: "Last input.")
        var maxX: Int32?

        @Option(name: .customLong("choose-args"), help: "choose_args index (pool id); falls back to the default set.")
        var chooseArgsIndex: Int64 = 0

        @Option(name: [.customShort("w"), .customLong("weight")], parsing: .upToNextOption, help: "Device weight override(s): DEV WEIGHT pairs, weight 0...1.")
        var weight: [String] = []

        @Flag(name: .customLong("show-mappings"), help: "Print one line per input (the only output mode so far).")
        var showMappings = false

        func run() throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: input))
            let map = try CRUSHMap(decoding: ByteBuffer(bytes: data))
            guard weight.count % 2 == 0 else { throw ValidationError("--weight takes DEV WEIGHT pairs") }
            var deviceWeights: [Int32: UInt32] = [:]
            for pair in stride(from: 0, to: weight.count, by: 2) {
                guard let device = Int32(weight[pair]), let value = Double(weight[pair + 1]) else {
                    throw ValidationError("bad --weight \(weight[pair]) \(weight[pair + 1])")
                }
                deviceWeights[device] = CRUSHTestReport.fixedWeight(value)
            }
            // CrushTester: unless both ends are set (and non-negative), x runs over 0...1023.
            var (first, last): (Int32, Int32) = (0, 1023)
            if let minX, let maxX, minX >= 0, maxX >= 0 { (first, last) = (minX, maxX) }
            let lines = CRUSHTestReport.mappings(
                map: map, rule: rule, numRep: numRep, minX: first, maxX: last, chooseArgsIndex: chooseArgsIndex,
                deviceWeights: deviceWeights
            )
            var out = ""
            out.reserveCapacity(lines.count * 32)
            for line in lines {
                out += line
                out += "\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }
}
