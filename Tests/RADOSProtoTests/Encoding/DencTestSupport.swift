import NIOCore
import Testing
@testable import RADOSProto

/// Helpers shared by the encoding tests.
enum Denc {
    /// The bytes `write` produces.
    static func bytes(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        write(&buffer)
        return Array(buffer.readableBytesView)
    }

    /// Decodes `bytes` with `read`, requiring every byte to be consumed.
    static func decode<T>(_ bytes: [UInt8], _ read: (inout ByteBuffer) throws -> T) throws -> T {
        try ByteBuffer(bytes: bytes).decodeExactly("test", read)
    }

    /// Every proper prefix of `bytes` must make `read` throw a `DencError` (and nothing
    /// else, and never trap); the whole of `bytes` must decode.
    static func expectEveryTruncationThrows<T>(
        _ bytes: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation,
        _ read: (inout ByteBuffer) throws -> T
    ) {
        for cut in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            #expect(throws: DencError.self, "prefix of \(cut) bytes", sourceLocation: sourceLocation) {
                _ = try read(&buffer)
            }
        }
        var whole = ByteBuffer(bytes: bytes)
        do {
            _ = try read(&whole)
        } catch {
            Issue.record("the whole input failed to decode: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// The kind of the `DencError` that `body` throws, or `nil` if it throws none.
    static func errorKind(_ body: () throws -> Void) -> DencError.Kind? {
        do {
            try body()
            return nil
        } catch let error as DencError {
            return error.kind
        } catch {
            return nil
        }
    }

    /// The `DencError` that `body` throws, or `nil`.
    static func error(_ body: () throws -> Void) -> DencError? {
        do {
            try body()
            return nil
        } catch let error as DencError {
            return error
        } catch {
            return nil
        }
    }
}

/// A small seeded generator, so property tests are reproducible.
typealias SeededGenerator = SplitMix64
