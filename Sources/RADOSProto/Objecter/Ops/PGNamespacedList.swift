import NIOCore

/// Listing the objects of a pool, one placement group at a time
/// (`CEPH_OSD_OP_PGNLS`), as `rados ls` does.
///
/// The request (ceph/ceph `src/osdc/Objecter.h` `ObjectOperation::pg_nls` / `add_pgls`,
/// and `Objecter::list_nobjects`, `prepare_pg_read_op`): one op whose
/// `ceph_osd_op.pgls` carries the most entries wanted and the client's current osdmap
/// epoch, whose input is the cursor (an encoded `hobject_t`, ``HObject``), sent as a
/// read to the primary of the PG the cursor's hash falls in, with
/// ``requestFlags``. The `MOSDOp` has an empty object name; its object locator carries
/// the pool and the namespace to list (``allNamespaces`` for every namespace) and, as
/// librados writes it for a nameless object (`MOSDOp::get_object_locator`), the PG
/// seed as its hash; its object hash and PG seed are the PG's seed
/// (`ceph_stable_mod(cursor.hash, pg_num, pg_num_mask)`); its snap id must be
/// `CEPH_NOSNAP`. The OSD recognises a PG op by its op code, caps the count at
/// `osd_max_pgls` (1024 by default), and refuses with `-EINVAL` a cursor outside the
/// PG (only the "min" cursor is accepted anywhere).
/// An OSD whose map puts the request's PG elsewhere answers 0 with *no output* (see
/// `PrimaryLogPG::do_pg_op`): decoding that throws, and the client should retry after
/// a map update.
///
/// The reply (``PGNamespacedListResponse``) carries the entries and the next cursor:
/// the position to continue from inside this PG, or the first position of the next PG
/// in hash order once this one is exhausted (the op then returns 1), or
/// ``HObject/max`` after the last PG. A client loops until the cursor is max.
package enum PGNamespacedList {
    /// `LIBRADOS_ALL_NSPACES`: the namespace that lists objects of every namespace.
    package static let allNamespaces = "\u{01}"

    /// What librados sends a PG listing with: a read that ignores cache-tier overlays
    /// (`CEPH_OSD_FLAG_READ | CEPH_OSD_FLAG_IGNORE_OVERLAY`, `Objecter::prepare_pg_read_op`).
    /// `ObjectOperation::pg_nls` marks its own flags with `CEPH_OSD_FLAG_PGOP`, but
    /// `prepare_pg_read_op` does not pass them on, so the flag never reaches the OSD,
    /// which classifies PG ops by op code (`ceph_osd_op_type_pg`) and does not need it.
    package static let requestFlags: OSDRequestFlags = [.read, .ignoreOverlay]
}

extension OSDOp {
    /// `CEPH_OSD_OP_PGNLS`: up to `maxEntries` objects from `cursor` on, in the PG the
    /// cursor's hash maps to. `startEpoch` is the client's osdmap epoch.
    package static func pgNamespacedList(maxEntries: UInt64, cursor: HObject, startEpoch: UInt32) -> OSDOp {
        var input = ByteBuffer()
        input.writeDencHObject(cursor)
        return OSDOp(.pgNamespacedList, arguments: .pgList(count: maxEntries, startEpoch: startEpoch), input: input)
    }
}

/// What `CEPH_OSD_OP_PGNLS` returns: `pg_nls_response_t`.
///
/// Layout (ceph/ceph `src/osd/osd_types.h`, `pg_nls_response_t::encode`): a versioned
/// struct, version 1, compat 1: the next cursor (`hobject_t`), then u32 count and per
/// entry three strings — namespace, object name, locator key. Read back by
/// `Objecter::_nlist_reply` (`src/osdc/Objecter.cc`), which also accepts one trailing
/// bufferlist of legacy "extra info" after the struct (current OSDs send none); so do
/// we, and drop it.
package struct PGNamespacedListResponse: Hashable, Sendable {
    /// One listed object (`librados::ListObjectImpl`).
    package struct Entry: Hashable, Sendable {
        package var namespace: String
        package var name: String
        /// Locator key, "" unless the object was written with one.
        package var locator: String

        package init(namespace: String, name: String, locator: String = "") {
            self.namespace = namespace
            self.name = name
            self.locator = locator
        }
    }

    /// Where the next request starts; ``HObject/max`` when the pool is exhausted.
    package var cursor: HObject
    package var entries: [Entry]

    package init(cursor: HObject, entries: [Entry]) {
        self.cursor = cursor
        self.entries = entries
    }

    /// Whether the listing is complete.
    package var isEndOfPool: Bool { cursor.isMax }

    /// Decodes a PGNLS output.
    package static func decode(_ output: ByteBuffer) throws -> PGNamespacedListResponse {
        try output.decodeExactly("pg_nls") { buffer in
            let response = try buffer.readDencVersioned("pg_nls_response_t", understands: 1) { body, _ in
                let cursor = try body.readDencHObject()
                let entries = try body.readDencArray(minimumElementSize: 12) { entry in
                    Entry(namespace: try entry.readDencString(), name: try entry.readDencString(), locator: try entry.readDencString())
                }
                return PGNamespacedListResponse(cursor: cursor, entries: entries)
            }
            if buffer.readableBytes > 0 {
                _ = try buffer.readDencBytes()  // legacy extra info
            }
            return response
        }
    }

    /// Writes the output as an OSD does.
    package func encode(into buffer: inout ByteBuffer) {
        buffer.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencHObject(cursor)
            body.writeDencArray(entries) { out, entry in
                out.writeDencString(entry.namespace)
                out.writeDencString(entry.name)
                out.writeDencString(entry.locator)
            }
        }
    }
}
