import NIOCore
import RADOSProto

/// The maintenance requests librbd sends to an image's exclusive-lock owner, and the
/// owner's progress and completion messages, on the header's notify channel.
///
/// A client that does not own the lock asks the owner to run operations that only the
/// owner may run (snapshots, resize, flatten …). A request carries an `AsyncRequestId`
/// (the requester's `ClientId` and a per-client counter): the owner acknowledges at
/// once with `ResponseMessage(0)`, runs the operation, and then notifies
/// `ASYNC_COMPLETE` with the id and the result (with `ASYNC_PROGRESS` meanwhile). Older
/// clients sent snapshot requests without an id: for those the owner's acknowledgement
/// is sent when the operation is done and its `ResponseMessage` holds the result. A
/// request with an id the owner has seen is not run twice: it answers with the finished
/// result, or 0 while it still runs.
///
/// Payloads as Pacific (16.2.15) encodes them in `NotifyMessage` version 7 (ceph/ceph
/// `src/librbd/WatchNotifyTypes.{h,cc}`; the snapshot requests' trailing id, which
/// early Pacific releases did not send, as `rbd snap rm` sends it):
/// - `AsyncRequestId`: `ClientId` (u64 gid, u64 watch handle), u64 request id.
/// - `SNAP_REMOVE`, `SNAP_PROTECT`, `SNAP_UNPROTECT` (`SnapPayloadBase`): string name,
///   `SnapshotNamespace` (from v6), then the request id (v7).
/// - `SNAP_CREATE`: those, then u64 flags (the namespace came after the name in v5 too;
///   the id and flags are there in every v7 message).
/// - `SNAP_RENAME`: u64 snapshot id, then the new name, namespace and request id.
/// - `RESIZE`: u64 size, request id, bool allow shrink (from v4).
/// - `FLATTEN`: request id.
/// - `ASYNC_PROGRESS`: request id, u64 offset, u64 total; `ASYNC_COMPLETE`: request id,
///   s32 result.
/// - `SnapshotNamespace` (`src/cls/rbd/cls_rbd_types.cc`): a versioned struct holding
///   the u32 namespace type and that type's fields (none for user snapshots).
extension ImageNotify {
    /// `AsyncRequestId`: which client's which request.
    package struct AsyncRequestID: Hashable, Sendable, CustomStringConvertible {
        package var client: ClientID
        package var requestID: UInt64

        package init(client: ClientID, requestID: UInt64) {
            self.client = client
            self.requestID = requestID
        }

        package var description: String { "[\(client.globalID),\(client.handle),\(requestID)]" }

        /// Request id 0 stands for no id (librbd's `AsyncRequestId` is false then).
        var nonZero: AsyncRequestID? { requestID == 0 ? nil : self }
    }

    /// A snapshot's namespace in a request: its type and the type's encoded fields.
    package struct SnapshotNamespace: Hashable, Sendable {
        package var type: UInt32
        package var fields: ByteBuffer

        /// The namespace of snapshots users take (`UserSnapshotNamespace`).
        package static let user = SnapshotNamespace(type: ClsRBD.SnapshotInfo.userNamespace, fields: ByteBuffer())

        package var isUser: Bool { type == ClsRBD.SnapshotInfo.userNamespace }
    }

    /// An operation a client asks the lock owner to run.
    package enum OwnerRequest: Hashable, Sendable {
        /// `SNAP_CREATE`. Snapshot requests from older clients have no id.
        case snapCreate(AsyncRequestID?, name: String, namespace: SnapshotNamespace, flags: UInt64)
        case resize(AsyncRequestID, size: UInt64, allowShrink: Bool)
        case flatten(AsyncRequestID)
        case snapRemove(AsyncRequestID?, name: String, namespace: SnapshotNamespace)
        case snapRename(AsyncRequestID?, snapID: UInt64, newName: String, namespace: SnapshotNamespace)
        case snapProtect(AsyncRequestID?, name: String, namespace: SnapshotNamespace)
        case snapUnprotect(AsyncRequestID?, name: String, namespace: SnapshotNamespace)

        /// The request's id: the owner completes it with `ASYNC_COMPLETE`; nil: with its
        /// acknowledgement.
        package var asyncID: AsyncRequestID? {
            switch self {
            case .snapCreate(let id, _, _, _), .snapRemove(let id, _, _), .snapRename(let id, _, _, _),
                .snapProtect(let id, _, _), .snapUnprotect(let id, _, _):
                return id
            case .resize(let id, _, _), .flatten(let id): return id
            }
        }

        package var op: Op {
            switch self {
            case .snapCreate: return .snapCreate
            case .resize: return .resize
            case .flatten: return .flatten
            case .snapRemove: return .snapRemove
            case .snapRename: return .snapRename
            case .snapProtect: return .snapProtect
            case .snapUnprotect: return .snapUnprotect
            }
        }
    }

    /// The notify carrying `request`, as a Pacific client encodes it.
    package static func encode(_ request: OwnerRequest) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: messageVersion, compat: 1) { body in
            body.writeDencU32(request.op.rawValue)
            switch request {
            case .snapCreate(let id, let name, let namespace, let flags):
                writeSnapshot(&body, name, namespace, id)
                body.writeDencU64(flags)
            case .resize(let id, let size, let allowShrink):
                body.writeDencU64(size)
                writeAsyncRequestID(&body, id)
                body.writeDencBool(allowShrink)
            case .flatten(let id):
                writeAsyncRequestID(&body, id)
            case .snapRemove(let id, let name, let namespace), .snapProtect(let id, let name, let namespace),
                .snapUnprotect(let id, let name, let namespace):
                writeSnapshot(&body, name, namespace, id)
            case .snapRename(let id, let snapID, let newName, let namespace):
                body.writeDencU64(snapID)
                writeSnapshot(&body, newName, namespace, id)
            }
        }
        return buffer
    }

    /// Reads the request in a decoded notify; nil when its op is not one of these.
    ///
    /// - Throws: ``DencError`` when the payload is truncated or a namespace's compat is
    ///   above 1.
    package static func decodeOwnerRequest(_ message: Message) throws -> OwnerRequest? {
        guard let op = message.op else { return nil }
        var payload = message.payload
        let version = message.version
        switch op {
        case .snapCreate:
            let name = try payload.readDencString()
            var namespace = SnapshotNamespace.user
            if version >= 5 { namespace = try readSnapshotNamespace(&payload) }
            var id: AsyncRequestID?
            var flags: UInt64 = 0
            if version >= 7 {
                id = try readAsyncRequestID(&payload).nonZero
                flags = try payload.readDencU64()
            }
            return .snapCreate(id, name: name, namespace: namespace, flags: flags)
        case .snapRemove:
            let (name, namespace, id) = try readSnapshot(&payload, version: version)
            return .snapRemove(id, name: name, namespace: namespace)
        case .snapProtect:
            let (name, namespace, id) = try readSnapshot(&payload, version: version)
            return .snapProtect(id, name: name, namespace: namespace)
        case .snapUnprotect:
            let (name, namespace, id) = try readSnapshot(&payload, version: version)
            return .snapUnprotect(id, name: name, namespace: namespace)
        case .snapRename:
            let snapID = try payload.readDencU64()
            let (name, namespace, id) = try readSnapshot(&payload, version: version)
            return .snapRename(id, snapID: snapID, newName: name, namespace: namespace)
        case .resize:
            let size = try payload.readDencU64()
            let id = try readAsyncRequestID(&payload)
            // Older clients had no such flag and always allowed shrinking.
            let allowShrink = version >= 4 ? try payload.readDencBool() : true
            return .resize(id, size: size, allowShrink: allowShrink)
        case .flatten:
            return .flatten(try readAsyncRequestID(&payload))
        default:
            return nil
        }
    }

    /// `ASYNC_PROGRESS` of request `id`: `offset` of `total` done.
    package static func asyncProgress(_ id: AsyncRequestID, offset: UInt64, total: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: messageVersion, compat: 1) { body in
            body.writeDencU32(Op.asyncProgress.rawValue)
            writeAsyncRequestID(&body, id)
            body.writeDencU64(offset)
            body.writeDencU64(total)
        }
        return buffer
    }

    /// `ASYNC_COMPLETE` of request `id` with `result` (0 or a negative errno).
    package static func asyncComplete(_ id: AsyncRequestID, result: Int32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeDencVersioned(version: messageVersion, compat: 1) { body in
            body.writeDencU32(Op.asyncComplete.rawValue)
            writeAsyncRequestID(&body, id)
            body.writeDencI32(result)
        }
        return buffer
    }

    /// What an `ASYNC_PROGRESS` or `ASYNC_COMPLETE` says of a request.
    package enum AsyncUpdate: Hashable, Sendable {
        case progress(AsyncRequestID, offset: UInt64, total: UInt64)
        case complete(AsyncRequestID, result: Int32)
    }

    /// Reads an `ASYNC_PROGRESS` or `ASYNC_COMPLETE`; nil for any other op.
    ///
    /// - Throws: ``DencError`` when the payload is truncated.
    package static func decodeAsyncUpdate(_ message: Message) throws -> AsyncUpdate? {
        var payload = message.payload
        switch message.op {
        case .asyncProgress:
            let id = try readAsyncRequestID(&payload)
            return .progress(id, offset: try payload.readDencU64(), total: try payload.readDencU64())
        case .asyncComplete:
            let id = try readAsyncRequestID(&payload)
            return .complete(id, result: try payload.readDencI32())
        default:
            return nil
        }
    }

    // MARK: fields

    private static func writeAsyncRequestID(_ buffer: inout ByteBuffer, _ id: AsyncRequestID) {
        buffer.writeDencU64(id.client.globalID)
        buffer.writeDencU64(id.client.handle)
        buffer.writeDencU64(id.requestID)
    }

    private static func readAsyncRequestID(_ buffer: inout ByteBuffer) throws -> AsyncRequestID {
        let client = ClientID(globalID: try buffer.readDencU64(), handle: try buffer.readDencU64())
        return AsyncRequestID(client: client, requestID: try buffer.readDencU64())
    }

    /// `SnapPayloadBase`: the name, the namespace and the id (a zero id when none).
    private static func writeSnapshot(_ buffer: inout ByteBuffer, _ name: String, _ namespace: SnapshotNamespace, _ id: AsyncRequestID?) {
        buffer.writeDencString(name)
        buffer.writeDencVersioned(version: 1, compat: 1) { body in
            body.writeDencU32(namespace.type)
            var fields = namespace.fields
            body.writeBuffer(&fields)
        }
        writeAsyncRequestID(&buffer, id ?? AsyncRequestID(client: ClientID(globalID: 0, handle: 0), requestID: 0))
    }

    /// `SnapPayloadBase`: the name, the namespace from message version 6, and from
    /// version 7 the id, when the sender has one (early Pacific clients end before it).
    private static func readSnapshot(_ buffer: inout ByteBuffer, version: UInt8) throws -> (String, SnapshotNamespace, AsyncRequestID?) {
        let name = try buffer.readDencString()
        let namespace = version >= 6 ? try readSnapshotNamespace(&buffer) : .user
        let id = version >= 7 && buffer.readableBytes > 0 ? try readAsyncRequestID(&buffer).nonZero : nil
        return (name, namespace, id)
    }

    private static func readSnapshotNamespace(_ buffer: inout ByteBuffer) throws -> SnapshotNamespace {
        try buffer.readDencVersioned("SnapshotNamespace", understands: 1) { body, _ in
            let type = try body.readDencU32()
            return SnapshotNamespace(type: type, fields: body.readSlice(length: body.readableBytes) ?? ByteBuffer())
        }
    }
}
