import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import RADOSProto

/// Which monitor addresses we can use: msgr2 only, with a clear error for v1-only monitors.
struct ClusterConnectionTests {
    private func configuration(monHost: String) throws -> RADOSConfiguration {
        var configuration = try RADOSConfiguration(name: "client.admin")
        try configuration.set("mon_host", to: monHost)
        try configuration.set("key", to: "AQBAcH5lAAAAABAAqDHOPbHMaEWuT1mztPYWyw==")
        return configuration
    }

    @Test(arguments: ["v1:10.0.0.1:6789", "10.0.0.1:6789", "[v1:10.0.0.1:6789],[v1:10.0.0.2:6789]"])
    func v1OnlyMonitorsAreRefusedClearly(monHost: String) throws {
        do {
            _ = try ClusterConnection.monitorEndpoints(try configuration(monHost: monHost))
            Issue.record("\(monHost) was accepted")
        } catch let error as RADOSError {
            #expect(error.code == .unsupported)
            #expect(error.message.contains("msgr v1 is not supported"))
        }
    }

    @Test func v2AddressesAreUsedAndV1OnesSkipped() throws {
        let endpoints = try ClusterConnection.monitorEndpoints(
            try configuration(monHost: "[v2:10.0.0.1:3300,v1:10.0.0.1:6789],v1:10.0.0.2:6789,10.0.0.3"))
        #expect(endpoints.map { "\($0.host):\($0.port)" } == ["10.0.0.1:3300", "10.0.0.3:3300"])
    }

    @Test func monitorClientOptionsComeFromTheConfiguration() throws {
        var configuration = try configuration(monHost: "10.0.0.1")
        try configuration.set("mon_client_ping_interval", to: "2")
        try configuration.set("mon_client_ping_timeout", to: "7.5")
        try configuration.set("mon_client_hunt_interval", to: "0.5")
        try configuration.set("client_mount_timeout", to: "20")
        let options = try MonClient.Options(configuration)
        #expect(options.pingInterval == .seconds(2))
        #expect(options.pingTimeout == .milliseconds(7_500))
        #expect(options.huntInterval == .milliseconds(500))
        #expect(options.reconnectTimeout == .seconds(20))
        try configuration.set("client_mount_timeout", to: "0")
        #expect(try MonClient.Options(configuration).reconnectTimeout >= .hours(24 * 365))
        let defaults = try MonClient.Options(try self.configuration(monHost: "10.0.0.1"))
        #expect(defaults.pingInterval == .seconds(10) && defaults.pingTimeout == .seconds(30) && defaults.reconnectTimeout == .seconds(300))
    }

    /// At first contact no monitor answering is not the end: the client hunts, round
    /// after round, until `client_mount_timeout`, then fails with ETIMEDOUT naming the
    /// monitors it tried (it used to give up after the first refused connection).
    @Test func firstContactHuntsUntilTheMountTimeout() async throws {
        // A port bound but not listening, held for the whole test: connecting there is
        // refused, and no other test can take the port meanwhile (one that was only
        // freed got taken by a parallel test's server once, and the connect hung).
        let reserved = try Self.reservedClosedPort()
        defer { close(reserved.descriptor) }
        let port = reserved.port
        var configuration = try configuration(monHost: "v2:127.0.0.1:\(port)")
        // Long enough for a round to end and be reported before the deadline even when
        // the whole suite loads the machine (2 s once passed without a round reported).
        try configuration.set("client_mount_timeout", to: "20")
        try configuration.set("mon_client_hunt_interval", to: "0.1")
        let started = ContinuousClock.now
        let reports = NIOLockedValueBox<[String]>([])
        var rounds = 0
        do {
            _ = try await ClusterConnection.firstContact(ClusterConnection.monitorEndpoints(configuration), options: MonClient.Options(configuration)) { line in
                reports.withLockedValue { $0.append(line) }
            }
            Issue.record("connected to a port where nothing listens")
        } catch let error as RADOSError {
            let elapsed = ContinuousClock.now - started
            #expect(error.code == .timedOut && error.errno == 110, "\(error)")
            #expect(error.message.contains("127.0.0.1:\(port)") && error.message.contains("client_mount_timeout"), "\(error.message)")
            // The last error carries the cause, not only "cannot connect".
            #expect(error.message.contains("connection refused"), "\(error.message)")
            #expect(elapsed >= .seconds(20), "gave up after \(elapsed), before client_mount_timeout")
            let counted = try #require(error.message.firstMatch(of: /, (\d+) rounds?;/), "\(error.message)")
            rounds = try #require(Int(counted.1))
        }
        // Each round that found nothing was reported, naming the monitor and the cause,
        // except the last, which the error itself reports. (How many rounds fit in 20 s
        // depends on the machine's load: a starved cooperative pool once held the first
        // one past the deadline. That rounds follow until a monitor answers is shown by
        // the integration test that starts a client while the monitor is down.)
        let lines = reports.withLockedValue { $0 }
        #expect(rounds >= 1 && lines.count == rounds - 1, "\(rounds) rounds, \(lines.count) reported: \(lines)")
        for (index, line) in lines.enumerated() {
            #expect(line.contains("round \(index + 1)") && line.contains("127.0.0.1:\(port)") && line.contains("connection refused"), "\(line)")
        }
        // A key that cannot be a key fails before any monitor is tried.
        try configuration.set("key", to: "not base64!")
        #expect(throws: RADOSError.self) { _ = try ClusterConnection.monitorEndpoints(configuration) }
    }

    /// A TCP socket bound to a free loopback port without listening.
    static func reservedClosedPort() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0, "socket: errno \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else {
            close(descriptor)
            throw RADOSError(.connectionFailed, "cannot reserve a loopback port (errno \(errno))")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
