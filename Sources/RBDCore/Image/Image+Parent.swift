import NIOCore
import RADOSProto

/// Reading a clone: what the clone has not written yet comes from its parent snapshot,
/// as librbd reads it (ceph/ceph `src/librbd/io/CopyupRequest.cc`' read side,
/// `src/librbd/io/ObjectRequest.cc` `read_parent`, `src/librbd/image/RefreshParentRequest.cc`).
///
/// A clone's data object that does not exist yet reads from the parent: the image range
/// the object stands for, up to the parent overlap (the part of the clone that still maps
/// to the parent; bytes past it read as zeros). The parent is opened read-only at its
/// snapshot (by id: a v2 clone's parent snapshot may be in the trash namespace), and is
/// itself a clone when the chain is deeper, which reads through the same way.
///
/// The head's overlap is reread with the header (shrinking lowers it, flattening ends
/// it); a snapshot's stays as it was opened. Writing a clone copies the parent's bytes
/// up first (Image+CopyUp.swift).
extension Image {
    /// The parent snapshot a clone reads through to, and how much of the clone maps to it.
    struct ParentLink: Sendable {
        var image: Image
        var overlap: UInt64
    }

    /// The parent of the image, opened read-only at its snapshot: `spec` and `overlap` as
    /// the header was read (``ImageInfo/parent``, and the overlap of the head or of the
    /// snapshot being opened); nil when there is none (not a clone, or flattened).
    static func openParent(_ io: IOContext, name: String, spec: ClsRBD.ParentSpec?, overlap: UInt64?, depth: Int) async throws(RADOSError) -> ParentLink? {
        guard let spec, let overlap else { return nil }
        guard depth < maximumParentDepth else {
            throw RADOSError(.malformedData, "image \(name) has a clone chain deeper than \(maximumParentDepth) images", errno: 22)
        }
        var parentIO = try await io.ioContext(poolID: spec.poolID)
        parentIO.namespace = spec.poolNamespace
        let parent = try await open(parentIO, id: spec.imageID, snapID: spec.snapID, depth: depth + 1)
        return ParentLink(image: parent, overlap: min(overlap, parent.size))
    }

    /// Longest clone chain followed (a loop in corrupt metadata must not recurse forever).
    static let maximumParentDepth = 64

    /// Object `objectNumber`'s range `offset..<offset+length` of a clone whose object does
    /// not exist, from the parent: each image piece it stands for, clipped to the overlap.
    /// `overlap` is the image's current one (``IOView/parentOverlap``).
    func readFromParent(_ link: ParentLink, objectNumber: UInt64, offset: UInt64, length: UInt64, overlap: UInt64, layout: StripeLayout, completion: @escaping @Sendable (Result<ObjectReadResult, RADOSError>) -> Void) {
        let pieces = Striper.imageExtents(layout, objectNumber: objectNumber, offset: offset, length: length)
        var reads: [(imageOffset: UInt64, length: UInt64, at: UInt64)] = []
        var position: UInt64 = 0
        for piece in pieces {
            let end = min(piece.offset + piece.length, overlap)
            if piece.offset < end { reads.append((piece.offset, end - piece.offset, position)) }
            position += piece.length
        }
        guard !reads.isEmpty else { return completion(.success(.absent)) }
        let planned = reads
        let fanOut = ObjectFanOut<ByteBuffer>(count: reads.count) { outcome in
            completion(outcome.map { parts in
                var out = ByteBuffer()
                out.writeRepeatingByte(0, count: Int(length))
                for (part, read) in zip(parts, planned) { out.setBuffer(part, at: out.readerIndex + Int(read.at)) }
                return .dense(out)
            })
        }
        let parent = link.image
        let view = parent.ioView()
        for (index, read) in planned.enumerated() {
            parent.startRead(view, offset: read.imageOffset, length: read.length) { fanOut.finish(index, $0) }
        }
    }
}
