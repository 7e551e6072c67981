/// The one public error of the RADOS layer.
///
/// Every failure a caller can see from `RADOSProto` (configuration, authentication,
/// the messenger, the monitor and OSD clients) is a `RADOSError`. `code` is stable
/// across releases and comparable; `errno` is the negative-errno convention librados
/// uses, so the C ABI can hand it back unchanged. `description` is safe to log: it
/// never contains key material. Details for debugging (offsets, offending bytes)
/// live in `debugDescription`.
public struct RADOSError: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// A stable, comparable error kind. New kinds can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable name of the kind, e.g. `"malformedData"`.
        public let name: String
        /// The positive errno value librados would report for this kind.
        public let errno: Int32

        package init(_ name: String, errno: Int32) {
            self.name = name
            self.errno = errno
        }

        public var description: String { name }

        /// Bytes from a peer or a file did not decode (EIO).
        public static let malformedData = Code("malformedData", errno: 5)
        /// A configuration file, option or keyring is invalid (EINVAL).
        public static let invalidConfiguration = Code("invalidConfiguration", errno: 22)
        /// An argument given by the caller is invalid (EINVAL).
        public static let invalidArgument = Code("invalidArgument", errno: 22)
        /// No key, a wrong key, or a refused ticket (EACCES).
        public static let authenticationFailed = Code("authenticationFailed", errno: 13)
        /// A required file, pool, or object does not exist (ENOENT).
        public static let notFound = Code("notFound", errno: 2)
        /// The peer closed or reset the connection, or it could not be opened (ENOTCONN).
        public static let connectionFailed = Code("connectionFailed", errno: 107)
        /// The peer speaks a protocol or feature we do not support (EOPNOTSUPP).
        public static let unsupported = Code("unsupported", errno: 95)
        /// An operation did not complete in time (ETIMEDOUT).
        public static let timedOut = Code("timedOut", errno: 110)
        /// The object or entry already exists (EEXIST).
        public static let alreadyExists = Code("alreadyExists", errno: 17)
        /// The cluster refused the operation for lack of capabilities (EPERM/EACCES from an OSD).
        public static let permissionDenied = Code("permissionDenied", errno: 1)
        /// The cluster answered with an error code (the errno is the cluster's).
        public static let clusterError = Code("clusterError", errno: 5)
    }

    /// What kind of failure this is.
    public let code: Code
    /// The positive errno for this failure (librados returns its negation).
    public let errno: Int32
    /// One line saying what happened and what to do; never contains secrets.
    public let message: String
    /// Extra detail for debugging (offsets, bytes); never contains secrets.
    public let details: String?

    package init(_ code: Code, _ message: String, errno: Int32? = nil, details: String? = nil) {
        self.code = code
        self.errno = errno ?? code.errno
        self.message = message
        self.details = details
    }

    public var description: String { message }

    public var debugDescription: String {
        if let details { return "\(code) (errno \(errno)): \(message) [\(details)]" }
        return "\(code) (errno \(errno)): \(message)"
    }
}
