import NIOCore

/// One object found by listing a pool (librados' `rados_nobjects_list_next2` output).
public struct ObjectListEntry: Sendable, Hashable {
    /// The object's namespace ("" for the default one).
    public var namespace: String
    public var name: String
    /// The object's locator key, "" unless it was written with one.
    public var locator: String
}

/// Where a pool listing continues (an OSD's `hobject_t` cursor), like `rados_list_ctx_t`.
public struct ObjectListCursor: Sendable, Hashable {
    let position: HObject
    /// The pool's pg_num when the listing started; a change restarts the listing.
    let pgNum: UInt32

    /// The beginning of the pool.
    public static let start = ObjectListCursor(position: .min, pgNum: 0)

    /// Whether the listing is complete.
    public var isEnd: Bool { position.isMax }
}

extension IOContext {
    /// One page of the objects in this context's namespace (every namespace when
    /// ``namespace`` is ``allNamespaces``), from `cursor` on, and where to continue.
    ///
    /// Objects come PG by PG in hash order, as `rados ls` prints them. As in librados,
    /// if the pool's PG count changes during a listing, it restarts from the beginning
    /// (objects may then appear twice).
    ///
    /// - Parameters:
    ///   - cursor: where to continue: ``ObjectListCursor/start`` or the `next` of the
    ///     previous page.
    ///   - maxEntries: at most this many entries per request (OSDs cap it at
    ///     `osd_max_pgls`, 1024 by default); a page may be empty while more follow.
    public func listObjects(from cursor: ObjectListCursor = .start, maxEntries: Int = 1024) async throws(RADOSError) -> (entries: [ObjectListEntry], next: ObjectListCursor) {
        guard !cursor.isEnd else { return ([], cursor) }
        do {
            let (page, pgNum) = try await objecter.listPage(
                pool: poolID, namespace: namespace, cursor: cursor.pgNum == 0 ? .min : cursor.position,
                maxEntries: UInt64(max(1, maxEntries)))
            if cursor.pgNum != 0, cursor.pgNum != pgNum {
                return try await listObjects(from: .start, maxEntries: maxEntries)
            }
            let entries = page.entries.map { ObjectListEntry(namespace: $0.namespace, name: $0.name, locator: $0.locator) }
            return (entries, ObjectListCursor(position: page.cursor, pgNum: pgNum))
        } catch {
            throw error as? RADOSError ?? RADOSError(.connectionFailed, "listing pool \(poolName) failed", details: "\(error)")
        }
    }

    /// Every object in this context's namespace (or in all of them), in `rados ls` order.
    public func allObjects() async throws(RADOSError) -> [ObjectListEntry] {
        var all: [ObjectListEntry] = []
        var cursor = ObjectListCursor.start
        repeat {
            let (entries, next) = try await listObjects(from: cursor)
            if next.pgNum != cursor.pgNum, cursor.pgNum != 0 { all.removeAll() }
            all += entries
            cursor = next
        } while !cursor.isEnd
        return all
    }
}
