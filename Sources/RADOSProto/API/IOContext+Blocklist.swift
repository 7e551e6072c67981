import NIOCore

/// Blocklisting a client through the monitor, as librados' `rados_blocklist_add` does:
/// what librbd does to a lock owner whose watch is gone before breaking its lock, so a
/// client that only seemed dead cannot write once another has taken over.
extension IOContext {
    /// Blocklists the client at `address` (`ip:port/nonce`, as lock holders report it)
    /// for `expireSeconds` (nil: the monitor's default, `mon_osd_blocklist_default_expire`,
    /// one hour). The monitor answers once the OSDMap that lists it is committed.
    ///
    /// - Throws: ``RADOSError`` with the monitor's errno when it refuses (EINVAL for an
    ///   address it cannot parse, EACCES without the caps to blocklist).
    package func blocklist(address: String, expireSeconds: UInt32? = nil) async throws(RADOSError) {
        var json = "{\"prefix\": \"osd blocklist\", \"blocklistop\": \"add\", \"addr\": \"\(address)\""
        if let expireSeconds, expireSeconds > 0 { json += ", \"expire\": \(expireSeconds).0" }
        json += "}"
        do {
            let fsid = await objecter.osdmap.fsidValue
            _ = try await objecter.monitor.command([json], fsid: fsid)
        } catch let error as RADOSError {
            throw error
        } catch {
            throw RADOSError(.connectionFailed, "blocklisting \(address) failed: the monitor command could not be sent", details: "\(error)")
        }
    }
}
