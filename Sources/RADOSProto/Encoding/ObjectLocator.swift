import NIOCore

/// Ceph's `object_locator_t` (`src/osd/osd_types.h`, `osd_types.cc`): where an object
/// lives apart from its name — the pool, an optional locator key or explicit hash that
/// replaces the name for placement, and the namespace. `MOSDOp` carries one.
///
/// Wire form: a versioned struct, version 6, compat 3 (6 when `hash` is set, since
/// older decoders cannot interpret it); it may be the pre-envelope form
/// (`DECODE_START_LEGACY_COMPAT_LEN(6, 3, 3)`):
/// - version < 2: i32 pool, i16 preferred (ignored);
/// - otherwise: i64 pool, i32 preferred (ignored; written as -1);
/// - string key;
/// - version ≥ 5: string namespace;
/// - version ≥ 6: i64 hash, else -1.
///
/// Ceph asserts that a key and a hash are never both set; we refuse such input with
/// `.invalidValue` instead.
package struct ObjectLocator: Hashable, Sendable, CustomStringConvertible {
    package var pool: Int64
    /// Placement key used instead of the object name ("" for none).
    package var key: String
    package var namespace: String
    /// Explicit placement hash, or -1 for none.
    package var hash: Int64

    package static let encodingVersion: UInt8 = 6

    package init(pool: Int64, key: String = "", namespace: String = "", hash: Int64 = -1) {
        self.pool = pool
        self.key = key
        self.namespace = namespace
        self.hash = hash
    }

    /// `@pool[;namespace][:key]`, roughly as Ceph prints it.
    package var description: String {
        var text = "@\(pool)"
        if !namespace.isEmpty { text += ";\(namespace)" }
        if !key.isEmpty { text += ":\(key)" }
        if hash != -1 { text += " hash \(hash)" }
        return text
    }
}

extension ByteBuffer {
    package mutating func readDencObjectLocator(limit: Int = DencLimit.string) throws -> ObjectLocator {
        try readDencVersionedLegacy(
            "object_locator_t", understands: ObjectLocator.encodingVersion, compatSince: 3, lengthSince: 3
        ) { body, version in
            let pool: Int64
            if version < 2 {
                pool = Int64(try body.readDencI32())
                _ = try body.readDencI16()
            } else {
                pool = try body.readDencI64()
                _ = try body.readDencI32()
            }
            let keyStart = body
            let key = try body.readDencString(limit: limit)
            let namespace = version >= 5 ? try body.readDencString(limit: limit) : ""
            let hash = version >= 6 ? try body.readDencI64() : -1
            guard hash == -1 || key.isEmpty else {
                throw DencError(.invalidValue("both a locator key and a hash are set"), at: keyStart)
            }
            return ObjectLocator(pool: pool, key: key, namespace: namespace, hash: hash)
        }
    }

    /// Writes version 6. A locator with both a key and a hash cannot be represented
    /// (Ceph asserts against it); the caller must not build one.
    package mutating func writeDencObjectLocator(_ locator: ObjectLocator) {
        precondition(locator.hash == -1 || locator.key.isEmpty, "object_locator_t cannot carry both a key and a hash")
        let compat: UInt8 = locator.hash == -1 ? 3 : 6
        writeDencVersioned(version: ObjectLocator.encodingVersion, compat: compat) { body in
            body.writeDencI64(locator.pool)
            body.writeDencI32(-1)
            body.writeDencString(locator.key)
            body.writeDencString(locator.namespace)
            body.writeDencI64(locator.hash)
        }
    }
}
