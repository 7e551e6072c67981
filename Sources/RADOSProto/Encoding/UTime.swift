import NIOCore

/// Ceph's `utime_t`: a wall-clock time as u32 seconds and u32 nanoseconds since the
/// Unix epoch, 8 bytes on the wire (`src/include/utime.h`).
///
/// Values are kept exactly as decoded: a peer may send `nanoseconds` of a billion or
/// more, and we neither reject nor normalise them, so a decode–encode round trip gives
/// back the same bytes. ``init(seconds:nanoseconds:)`` normalises values we build.
package struct UTime: Hashable, Sendable, Comparable, CustomStringConvertible {
    package var seconds: UInt32
    package var nanoseconds: UInt32

    /// The epoch itself; Ceph uses it for "not set".
    package static let zero = UTime(rawSeconds: 0, nanoseconds: 0)

    /// Exactly these two fields, as they travel on the wire.
    package init(rawSeconds seconds: UInt32, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Carries whole seconds out of `nanoseconds` (saturating at the last u32 second).
    package init(seconds: UInt32, nanoseconds: UInt32) {
        let carry = nanoseconds / 1_000_000_000
        let (sum, overflow) = seconds.addingReportingOverflow(carry)
        self.seconds = overflow ? .max : sum
        self.nanoseconds = overflow ? 999_999_999 : nanoseconds % 1_000_000_000
    }

    /// The time `seconds` after the epoch (a `Date`'s `timeIntervalSince1970`), clamped
    /// to what the u32 seconds can hold.
    package init(timeIntervalSince1970 seconds: Double) {
        let clamped = min(max(0, seconds), Double(UInt32.max))
        self.init(seconds: UInt32(clamped), nanoseconds: UInt32((clamped - clamped.rounded(.down)) * 1e9))
    }

    /// Seconds since the epoch as a floating-point value.
    package var timeIntervalSince1970: Double {
        Double(seconds) + Double(nanoseconds) / 1e9
    }

    package static func < (lhs: UTime, rhs: UTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// `seconds.nanoseconds` with nine fraction digits, like Ceph's raw time format.
    package var description: String {
        let fraction = String(nanoseconds)
        let padding = String(repeating: "0", count: max(0, 9 - fraction.count))
        return "\(seconds).\(padding)\(fraction)"
    }
}

extension ByteBuffer {
    /// `utime_t`: u32 seconds, u32 nanoseconds.
    package mutating func readDencUTime() throws -> UTime {
        guard readableBytes >= 8 else {
            throw DencError(.truncated(needed: 8, available: readableBytes), at: self, context: ["utime_t"])
        }
        let seconds = try readDencU32()
        let nanoseconds = try readDencU32()
        return UTime(rawSeconds: seconds, nanoseconds: nanoseconds)
    }

    package mutating func writeDencUTime(_ time: UTime) {
        writeDencU32(time.seconds)
        writeDencU32(time.nanoseconds)
    }
}
