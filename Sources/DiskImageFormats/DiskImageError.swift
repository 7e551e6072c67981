#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a disk image file cannot be read: the one error type of this layer, with a
/// stable code and the errno `rbdctl` exits with.
///
/// Image files are untrusted input: a damaged or hostile file gets one of these, naming
/// what is wrong and where, never a trap.
package struct DiskImageError: Error, Equatable, CustomStringConvertible {
    package enum Code: String, Sendable, Equatable {
        /// The file uses a feature this reader does not implement (backing files,
        /// encryption, extended L2 entries, zstd, …).
        case unsupported
        /// The file contradicts its own format (bad offsets, tables out of bounds, a
        /// compressed cluster that does not inflate).
        case corrupt
        /// Reading the file failed.
        case io
    }

    package let code: Code
    package let message: String
    /// What `rbdctl` exits with: EOPNOTSUPP, EINVAL or the read's errno.
    package let errno: Int32

    package init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        switch code {
        case .unsupported: self.errno = errno ?? EOPNOTSUPP
        case .corrupt: self.errno = errno ?? EINVAL
        case .io: self.errno = errno ?? EIO
        }
    }

    package var description: String { message }
}
