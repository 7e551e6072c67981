import NIOCore
import RADOSProto

/// Image metadata (`rbd image-meta`): string keys and values in the header's omap under
/// the `metadata_` prefix, reached through the `rbd` class (`metadata_set`,
/// `metadata_get`, `metadata_list`, `metadata_remove` in `src/cls/rbd/cls_rbd.cc`).
/// Setting and removing need an image open for writing and tell its other clients
/// (`Operations::metadata_set`/`metadata_remove`, `C_NotifyUpdate`).
extension Image {
    /// Sets `key` to `value`.
    ///
    /// - Throws: ``RADOSError`` `.permissionDenied` (EROFS) on a read-only image.
    public func setMetadata(_ key: String, to value: String) async throws(RADOSError) {
        try checkMetadataWritable()
        _ = try await metadataIO.operate(headerObject, [ClsRBD.metadataSet([key: ByteBuffer(string: value)])])
        try await headerChanged()
    }

    /// The value of `key`.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the key is not set.
    public func metadata(_ key: String) async throws(RADOSError) -> String {
        let output: [ByteBuffer]
        do {
            output = try await metadataIO.operate(headerObject, [ClsRBD.metadataGet(key: key)])
        } catch where error.code == .notFound {
            throw RADOSError(.notFound, "failed to get metadata \(key) of image \(name): no such key", errno: 2)
        }
        return try ImageInfo.decode { try ClsRBD.decodeString(output.first ?? ByteBuffer()) }
    }

    /// Every key and value, read in pages.
    public func metadata() async throws(RADOSError) -> [String: String] {
        var result: [String: String] = [:]
        var after = ""
        let page: UInt64 = 64
        while true {
            let output = try await metadataIO.operate(headerObject, [ClsRBD.metadataList(startAfter: after, maxReturn: page)])
            let values = try ImageInfo.decode { try ClsRBD.decodeMetadataList(output.first ?? ByteBuffer()) }
            for (key, value) in values { result[key] = String(buffer: value) }
            guard UInt64(values.count) == page, let last = values.keys.max() else { return result }
            after = last
        }
    }

    /// Removes `key`.
    ///
    /// The class method removes a missing key silently; like librbd
    /// (`Operations::metadata_remove`) a `metadata_get` first makes that an error.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when the key is not set; `.permissionDenied`
    ///   (EROFS) on a read-only image.
    public func removeMetadata(_ key: String) async throws(RADOSError) {
        try checkMetadataWritable()
        do {
            _ = try await metadataIO.operate(headerObject, [ClsRBD.metadataGet(key: key), ClsRBD.metadataRemove(key: key)])
        } catch where error.code == .notFound {
            throw RADOSError(.notFound, "no existing metadata key \(key) of image \(name)", errno: 2)
        }
        try await headerChanged()
    }

    private func checkMetadataWritable() throws(RADOSError) {
        try checkOpen()
        if isReadOnly { throw RADOSError(.permissionDenied, "image \(name) is open read-only", errno: 30) }
    }

    var headerObject: String { RBDObjectNames.header(imageID: id) }
}
