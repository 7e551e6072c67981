import Foundation
import RADOSProto

extension RADOSClient {
    /// Connects as every rbdctl verb does: a keyring other users can read is warned of
    /// first, and while no monitor answers, each hunting round is reported on stderr
    /// (`rbdctl: no monitor answers yet (round 2, …): tried …; last error: …`), so a wait
    /// of up to `client_mount_timeout` is never silent.
    static func connectReportingHunts(_ configuration: RADOSConfiguration) async throws(RADOSError) -> RADOSClient {
        for warning in configuration.secretFileWarnings() {
            FileHandle.standardError.write(Data("rbdctl: warning: \(warning)\n".utf8))
        }
        return try await connect(configuration) { line in
            FileHandle.standardError.write(Data("rbdctl: \(line)\n".utf8))
        }
    }
}
