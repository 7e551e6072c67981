import NIOCore

/// What a `CEPH_OSD_OP_WATCH` op asks for (`CEPH_OSD_WATCH_OP_*`, ceph/ceph
/// `src/include/rados.h`). The values are odd so that pre-Giant OSDs, which read the
/// byte as a flag, do not mistake a new op for an unwatch.
package enum WatchOperation: UInt8, Hashable, Sendable, CaseIterable {
    case unwatch = 0
    /// The pre-Giant form; the OSD treats it as ``watch`` without pings.
    case legacyWatch = 1
    case watch = 3
    /// Re-establishes a watch after a reconnect or a PG change, with a new generation;
    /// `-ENOTCONN` if the OSD no longer knows the watch.
    case reconnect = 5
    /// Proves the watch is still alive. The OSD answers `-ENOTCONN` if it no longer
    /// knows the watch (register it again) and `-ETIMEDOUT` if the watch's session
    /// dropped (reconnect it) (`src/osd/PrimaryLogPG.cc`, case `CEPH_OSD_OP_WATCH`).
    case ping = 7
}

extension OSDOp {
    /// `CEPH_OSD_OP_WATCH`: registers, pings, re-registers or removes the watch
    /// `cookie` on the object. No input; `ceph_osd_op.watch` carries the cookie, the
    /// unused version, the operation, the generation and the timeout.
    ///
    /// What librados and the kernel send (ceph/ceph `src/osdc/Objecter.h`
    /// `ObjectOperation::watch`, `src/osdc/Objecter.cc` `linger_watch`, `_send_linger`,
    /// `_send_linger_ping`; Linux `net/ceph/osd_client.c` `osd_req_op_watch_init`,
    /// `ceph_osdc_unwatch`): a new watch with generation 0 and the timeout in seconds
    /// (0 lets the OSD use `osd_client_watch_timeout`, 30 s); a reconnect with the next
    /// generation; pings with the current generation. Pacific's librados sends all four
    /// (watch, reconnect, ping, unwatch) as writes: request flags `CEPH_OSD_FLAG_WRITE`
    /// plus the `ONDISK | KNOWN_REDIR` every request carries (0x400024, seen on the
    /// wire from `rados watch`).
    package static func watch(cookie: UInt64, _ operation: WatchOperation, generation: UInt32 = 0, timeout: UInt32 = 0) -> OSDOp {
        OSDOp(.watch, arguments: .watch(cookie: cookie, op: operation.rawValue, generation: generation, timeout: timeout))
    }

    /// `CEPH_OSD_OP_NOTIFY`: notifies every watcher of the object with `payload`.
    /// The op's output is the notify id (``NotifyID``); when every watcher has
    /// acknowledged or `timeout` seconds have passed, the OSD sends the notifier an
    /// ``MWatchNotify`` with `.notifyComplete`, whose data segment is a ``NotifyCompletion``.
    ///
    /// Input (ceph/ceph `src/osdc/Objecter.h` `ObjectOperation::notify`,
    /// `src/librados/IoCtxImpl.cc` `notify`; Linux `osd_req_op_notify_init`): u32
    /// protocol version (1), u32 timeout in seconds, then the payload as a bufferlist
    /// (u32 length, bytes). `ceph_osd_op.notify.cookie` is the notifier's own linger
    /// cookie, which the completion message carries back. librados sends it as a read
    /// (`Objecter::linger_notify`; 0x400014 on the wire), with a timeout of
    /// `client_notify_timeout` (10 s) unless the caller gives one.
    package static func notify(cookie: UInt64, payload: ByteBuffer, timeout: UInt32) -> OSDOp {
        var input = ByteBuffer()
        input.reserveCapacity(12 + payload.readableBytes)
        input.writeDencU32(1)  // prot_ver
        input.writeDencU32(timeout)
        input.writeDencBytes(payload)
        return OSDOp(.notify, arguments: .notify(cookie: cookie), input: input)
    }

    /// `CEPH_OSD_OP_NOTIFY_ACK`: a watcher's answer to notify `notifyID` received on
    /// watch `cookie`, with an optional reply payload that the notifier receives.
    ///
    /// Input (ceph/ceph `src/osdc/Objecter.h` `ObjectOperation::notify_ack`, case
    /// `CEPH_OSD_OP_NOTIFY_ACK` in `src/osd/PrimaryLogPG.cc`; Linux
    /// `osd_req_op_notify_ack_init`): u64 notify id, u64 cookie, bufferlist reply; no
    /// arguments in `ceph_osd_op`. librados sends it as a read.
    package static func notifyAck(notifyID: UInt64, cookie: UInt64, reply: ByteBuffer = ByteBuffer()) -> OSDOp {
        var input = ByteBuffer()
        input.reserveCapacity(20 + reply.readableBytes)
        input.writeDencU64(notifyID)
        input.writeDencU64(cookie)
        input.writeDencBytes(reply)
        return OSDOp(.notifyAck, input: input)
    }

    /// `CEPH_OSD_OP_LIST_WATCHERS`: no input; the output is a ``WatcherList``.
    package static var listWatchers: OSDOp { OSDOp(.listWatchers) }
}

/// The output of `CEPH_OSD_OP_NOTIFY`: the id the OSD gave this notify, a u64
/// (ceph/ceph `src/osd/PrimaryLogPG.cc` case `CEPH_OSD_OP_NOTIFY`; Linux
/// `linger_commit_cb`). Watchers see the same id in their ``MWatchNotify``.
package enum NotifyID {
    package static func decode(_ output: ByteBuffer) throws -> UInt64 {
        try output.decodeExactly("notify") { try $0.readDencU64() }
    }
}
