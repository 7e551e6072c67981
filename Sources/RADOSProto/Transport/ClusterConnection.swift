import NIOCore

/// From a ``RADOSConfiguration`` to live sessions: which monitors to try, as whom, with
/// which key and connection modes, then the monitor session and the ``Objecter``.
package enum ClusterConnection {
    /// The msgr2 endpoints of every monitor in `mon_host`, with the configured identity.
    package static func monitorEndpoints(_ configuration: RADOSConfiguration) throws -> [MonClient.Endpoint] {
        let key = try configuration.secret()
        let modes = try connectionModes(configuration.string("ms_mon_client_mode") ?? "secure crc")
        var endpoints: [MonClient.Endpoint] = []
        var sawLegacyOnly = false
        for monitor in try configuration.monitors() {
            guard let address = monitor.first(where: { $0.kind == .v2 }) ?? monitor.first(where: { $0.kind == .any && $0.port != MonitorAddress.v1Port }) else {
                sawLegacyOnly = true
                continue
            }
            endpoints.append(MonClient.Endpoint(host: address.host, port: Int(address.port), entityName: configuration.id, key: key, modes: modes))
        }
        if endpoints.isEmpty {
            throw RADOSError(
                sawLegacyOnly ? .unsupported : .invalidConfiguration,
                sawLegacyOnly ? "the monitors have only msgr v1 addresses; msgr v1 is not supported (give v2 addresses in mon_host)" : "no monitor addresses: set mon_host")
        }
        return endpoints
    }

    /// `ms_*_mode` text (`crc`, `secure`, `secure crc`, …), in preference order.
    package static func connectionModes(_ text: String) throws -> [ConnectionMode] {
        let modes = try text.split(whereSeparator: { $0 == " " || $0 == "," }).map { word -> ConnectionMode in
            switch word {
            case "crc": return .crc
            case "secure": return .secure
            default: throw RADOSError(.invalidConfiguration, "unknown connection mode '\(word)' (use crc and/or secure)")
            }
        }
        guard !modes.isEmpty else { throw RADOSError(.invalidConfiguration, "no connection mode given") }
        return modes
    }

    /// Connects to a monitor, authenticates and waits for the first OSDMap.
    package static func connect(
        _ configuration: RADOSConfiguration, eventLoop: any EventLoop = ClientEventLoop.next(), onHunting: (@Sendable (String) -> Void)? = nil
    ) async throws -> (monitor: MonClient, objecter: Objecter) {
        let monitor = try await firstContact(monitorEndpoints(configuration), options: MonClient.Options(configuration), eventLoop: eventLoop, onHunting: onHunting)
        let timeout = try configuration.double("rados_osd_op_timeout") ?? 0
        let osdModes = try connectionModes(configuration.string("ms_client_mode") ?? "crc secure")
        let objecter = try await Objecter.start(monitor: monitor, opTimeoutSeconds: timeout > 0 ? timeout : nil, osdModes: osdModes)
        return (monitor, objecter)
    }

    /// The first monitor session, hunting as librados does at mount: every monitor in
    /// turn, round after round (pausing `mon_client_hunt_interval`, growing by its
    /// backoff up to its max multiple), until one answers or `client_mount_timeout`
    /// passes, so a client started while the monitors restart comes up once one is
    /// back. A refused key or an unusable configuration ends it at once: every monitor
    /// would answer the same.
    ///
    /// After each round that found no monitor, `onHunting` gets one line saying which
    /// monitors were tried, the last error and when the next round starts (rbdctl prints
    /// it on stderr).
    ///
    /// - Throws: ``RADOSError`` `.timedOut` (ETIMEDOUT, as librados) naming the monitors
    ///   tried and the last error when the time is up.
    package static func firstContact(
        _ endpoints: [MonClient.Endpoint], options: MonClient.Options, eventLoop: any EventLoop = ClientEventLoop.next(),
        onHunting: (@Sendable (String) -> Void)? = nil
    ) async throws -> MonClient {
        let start = NIODeadline.now()
        let deadline = start + options.reconnectTimeout
        let tried = endpoints.map { "\($0.host):\($0.port)" }.joined(separator: ", ")
        let seconds = Double(options.reconnectTimeout.nanoseconds) / 1e9
        var round = 0
        var pause = options.huntInterval
        let longest = TimeAmount.nanoseconds(Int64(Double(options.huntInterval.nanoseconds) * options.huntMaxMultiple))
        while true {
            let lastError: RADOSError
            do {
                return try await MonClient.connect(toAnyOf: endpoints, options: options, eventLoop: eventLoop)
            } catch let error as RADOSError where [.authenticationFailed, .invalidConfiguration, .unsupported, .permissionDenied].contains(error.code) {
                throw error
            } catch let error as RADOSError {
                lastError = error
            }
            round += 1
            let now = NIODeadline.now()
            // The last round runs at the deadline itself (the pause before it is cut short).
            guard now < deadline else {
                throw RADOSError(.timedOut, "no monitor answered within \(String(format: "%g", seconds)) s (client_mount_timeout), \(round) round\(round == 1 ? "" : "s"); tried \(tried); last error: \(lastError.message)", errno: 110, details: lastError.details)
            }
            let wait = min(pause, deadline - now)
            if let onHunting {
                let elapsed = Double((now - start).nanoseconds) / 1e9
                onHunting("no monitor answers yet (round \(round), \(String(format: "%.0f", elapsed)) s of \(String(format: "%g", seconds)) s client_mount_timeout): tried \(tried); last error: \(lastError.message); next round in \(String(format: "%.1f", Double(wait.nanoseconds) / 1e9)) s")
            }
            try await Task.sleep(nanoseconds: UInt64(max(0, wait.nanoseconds)))
            pause = .nanoseconds(min(Int64(Double(pause.nanoseconds) * options.huntBackoff), longest.nanoseconds))
        }
    }
}
