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
    package static func connect(_ configuration: RADOSConfiguration) async throws -> (monitor: MonClient, objecter: Objecter) {
        let monitor = try await MonClient.connect(toAnyOf: monitorEndpoints(configuration), options: MonClient.Options(configuration))
        let timeout = try configuration.double("rados_osd_op_timeout") ?? 0
        let osdModes = try connectionModes(configuration.string("ms_client_mode") ?? "crc secure")
        let objecter = try await Objecter.start(monitor: monitor, opTimeoutSeconds: timeout > 0 ? timeout : nil, osdModes: osdModes)
        return (monitor, objecter)
    }
}
