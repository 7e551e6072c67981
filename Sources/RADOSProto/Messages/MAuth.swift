import NIOCore

/// `MAuth` (type 17): an authentication request carried as a message (ticket renewal
/// and service tickets after the msgr2 handshake).
///
/// Source: ceph/ceph `src/messages/MAuth.h`, `PaxosServiceMessage.h`; kernel
/// `net/ceph/auth.c` (`build_request`). Front: paxos header (u64 version 0, s16 session
/// mon -1, u64 session mon tid 0), u32 protocol (2 = cephx), byte list auth payload,
/// u32 monmap epoch.
package struct MAuth: Sendable {
    package var protocolID: UInt32 = AuthRequestFrame.methodCephX
    package var payload: ByteBuffer
    package var monmapEpoch: UInt32 = 0

    package init(payload: ByteBuffer, monmapEpoch: UInt32 = 0) {
        self.payload = payload
        self.monmapEpoch = monmapEpoch
    }

    package func encode() -> Message {
        var front = ByteBuffer()
        front.writeDencU64(0)
        front.writeDencI16(-1)
        front.writeDencU64(0)
        front.writeDencU32(protocolID)
        front.writeDencBytes(payload)
        front.writeDencU32(monmapEpoch)
        return Message(type: MessageType.auth, version: 1, front: front)
    }
}
