import Foundation
import NIOCore
import NIOPosix
import RADOSProto
import Testing

/// Where a client runs: `RADOSClient.connect(_:eventLoopGroup:)` puts a client on the
/// given group's next loop instead of the process's shared one (checked through the
/// package's view of the client and its I/O context).
@Suite(.requiresCluster)
struct ClientEventLoopTests {
    /// Clients given an event loop group run on its loops, one each, instead of the
    /// process's shared loop: their sessions work, and their requests complete there.
    @Test func clientsGivenAGroupRunOnItsLoops() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        let configuration = try RADOSConfiguration.load(configFile: conf, environment: [:], searchDefaultPaths: false)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let shared = ObjectIdentifier(ClientEventLoop.next())
        var loops: Set<ObjectIdentifier> = []
        for index in 0..<2 {
            let client = try await RADOSClient.connect(configuration, eventLoopGroup: group)
            let loop = ObjectIdentifier(client.eventLoop)
            loops.insert(loop)
            #expect(loop != shared, "client \(index) runs on the shared loop")
            let io = try await client.ioContext(pool: "rbd")
            let name = "group-\(index)-\(UInt32.random(in: 0...UInt32.max))"
            try await io.writeFull(name, ByteBuffer(string: "loop \(index)"))
            #expect(try RADOSClientTests.rados(["get", name, "-"]) == "loop \(index)")
            let completedOnItsLoop = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
                io.operate(name, [.read(offset: 0, length: 64)]) { result in
                    continuation.resume(with: result.map { _ in client.eventLoop.inEventLoop })
                }
            }
            #expect(completedOnItsLoop)
            try await io.remove(name)
            await client.shutdown()
        }
        #expect(loops.count == 2, "the two clients share a loop")
        try await group.shutdownGracefully()
    }

}
