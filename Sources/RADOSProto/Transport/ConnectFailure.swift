import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Why a TCP connect failed, in a few words (`connection refused`, `timed out`, `cannot
/// resolve 'mon1'`): what a user needs to see next to the address, without NIO's
/// wrapping of it.
enum ConnectFailure {
    static func error(host: String, port: Int, _ error: any Error) -> RADOSError {
        RADOSError(.connectionFailed, "cannot connect to \(host):\(port): \(describe(error, host: host))", details: "\(error)")
    }

    static func describe(_ error: any Error, host: String) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return describe(first.error, host: host) }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "cannot resolve '\(host)'" }
            return "no address for '\(host)'"
        }
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
        if let channel = error as? ChannelError, case .connectTimeout = channel {
            return "timed out"
        }
        if error is SocketAddressError { return "cannot resolve '\(host)'" }
        return "\(error)"
    }
}
