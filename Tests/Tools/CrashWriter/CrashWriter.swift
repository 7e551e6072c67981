import Foundation
import NIOCore
import RADOSProto
import RBDCache
import RBDCore
import CheckedBlocks

/// The writer the writeback-cache crash test kills with SIGKILL at random moments
/// (Tests/IntegrationTests/WritebackCrashTests.swift): it opens an image with the
/// writeback cache and writes generation after generation, each generation one 4 KiB
/// block at a place the generation alone determines (so the test can recompute every
/// write), with a flush every `flushEvery` generations. After each flush completes it
/// prints `flushed G`: everything up to generation G must survive the kill.
///
///   swiftrbd-crash-writer CEPH_CONF POOL IMAGE FIRST_GENERATION FLUSH_EVERY
@main
struct CrashWriter {
    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 6, let first = UInt64(arguments[4]), let flushEvery = UInt64(arguments[5]), flushEvery > 0 else {
            FileHandle.standardError.write(Data("usage: swiftrbd-crash-writer CEPH_CONF POOL IMAGE FIRST_GENERATION FLUSH_EVERY\n".utf8))
            exit(2)
        }
        do {
            let configuration = try RADOSConfiguration.load(configFile: arguments[1], environment: [:], searchDefaultPaths: false)
            let client = try await RADOSClient.connect(configuration)
            let io = try await client.ioContext(pool: arguments[2])
            let cache = CachePolicy(enabled: true, kind: .writeback, maxDirtyAge: 30)
            let image = try await Image.open(io, name: arguments[3], cache: cache)
            let blocks = image.size / UInt64(CheckedBlocks.blockSize)
            var generation = first
            while true {
                let index = CheckedBlocks.index(of: generation, blocks: blocks)
                _ = try await image.write(offset: index * UInt64(CheckedBlocks.blockSize), data: ByteBuffer(bytes: CheckedBlocks.block(index, generation: generation)))
                if generation % flushEvery == 0 {
                    try await image.flush()
                    // Unbuffered: the line is out before the next write starts.
                    FileHandle.standardOutput.write(Data("flushed \(generation)\n".utf8))
                }
                generation += 1
            }
        } catch {
            FileHandle.standardError.write(Data("swiftrbd-crash-writer: \(error)\n".utf8))
            exit(1)
        }
    }
}
