import NIOCore

/// The result of a notify, as the notifier receives it in the data segment of an
/// ``MWatchNotify`` with opcode `.notifyComplete` (and librados hands it to
/// `rados_notify2` callers as the reply buffer).
///
/// Layout (ceph/ceph `src/osd/Watch.cc`, `Notify::maybe_complete_notify`; documented
/// for `rados_notify2` in `src/include/rados/librados.h`): a
/// `map<pair<u64, u64>, bufferlist>` of acknowledgements — u32 count, then per watcher
/// its gid, its watch cookie and its reply (u32 length, bytes) — then a
/// `list<pair<u64, u64>>` of the watchers that did not answer in time — u32 count,
/// then gid and cookie for each. The message's return code is `-ETIMEDOUT` when that
/// list is not empty.
package struct NotifyCompletion: Hashable, Sendable {
    /// One watcher's answer.
    package struct Ack: Hashable, Sendable {
        /// The watching client's global id (`client.<gid>`).
        package var gid: UInt64
        package var cookie: UInt64
        /// What the watcher passed to its notify-ack (a slice, not a copy).
        package var reply: ByteBuffer

        package init(gid: UInt64, cookie: UInt64, reply: ByteBuffer = ByteBuffer()) {
            self.gid = gid
            self.cookie = cookie
            self.reply = reply
        }
    }

    /// A watcher that did not acknowledge in time.
    package struct Watcher: Hashable, Sendable {
        package var gid: UInt64
        package var cookie: UInt64

        package init(gid: UInt64, cookie: UInt64) {
            self.gid = gid
            self.cookie = cookie
        }
    }

    /// Acknowledgements in (gid, cookie) order.
    package var acks: [Ack]
    package var timedOut: [Watcher]

    package init(acks: [Ack], timedOut: [Watcher]) {
        self.acks = acks
        self.timedOut = timedOut
    }

    /// Decodes a notify-complete payload; it must be consumed exactly. An empty payload
    /// decodes as no acks and no timeouts.
    package static func decode(_ payload: ByteBuffer) throws -> NotifyCompletion {
        if payload.readableBytes == 0 { return NotifyCompletion(acks: [], timedOut: []) }
        return try payload.decodeExactly("notify_complete") { buffer in
            let acks = try buffer.readDencArray(minimumElementSize: 20) { entry in
                Ack(gid: try entry.readDencU64(), cookie: try entry.readDencU64(), reply: try entry.readDencBytes())
            }
            let timedOut = try buffer.readDencArray(minimumElementSize: 16) { entry in
                Watcher(gid: try entry.readDencU64(), cookie: try entry.readDencU64())
            }
            return NotifyCompletion(acks: acks, timedOut: timedOut)
        }
    }

    /// Writes the payload as an OSD does (acks sorted by gid, then cookie).
    package func encode(into buffer: inout ByteBuffer) {
        let sorted = acks.sorted { ($0.gid, $0.cookie) < ($1.gid, $1.cookie) }
        buffer.writeDencArray(sorted) { out, ack in
            out.writeDencU64(ack.gid)
            out.writeDencU64(ack.cookie)
            out.writeDencBytes(ack.reply)
        }
        buffer.writeDencArray(timedOut) { out, watcher in
            out.writeDencU64(watcher.gid)
            out.writeDencU64(watcher.cookie)
        }
    }
}
