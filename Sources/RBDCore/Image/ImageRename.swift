import NIOCore
import RADOSProto

extension Image {
    /// Renames image `source` to `destination` in the same pool and namespace, like
    /// `rbd rename`.
    ///
    /// As librbd (`src/librbd/image/RenameRequest.cc` via `Operations::rename`): the new
    /// `rbd_id.<destination>` is created exclusively as a copy of the old one, the
    /// directory entry is renamed (`dir_rename_image`), then the old id object is removed.
    ///
    /// - Throws: ``RADOSError`` `.notFound` when `source` does not exist, `.alreadyExists`
    ///   when `destination` does.
    public static func rename(_ io: IOContext, from source: String, to destination: String) async throws(RADOSError) {
        guard !destination.isEmpty else { throw RADOSError(.invalidArgument, "destination image name was not specified") }
        let id: String
        do {
            id = try await ImageInfo.imageID(io, name: source)
        } catch where error.code == .notFound {
            throw RADOSError(.notFound, "error opening source image: no such image \(source)", errno: 2)
        }
        for object in [RBDObjectNames.id(imageName: destination), destination + ".rbd"] where try await exists(io, object) {
            throw RADOSError(.alreadyExists, "rbd image \(destination) already exists", errno: 17)
        }
        let sourceObject = RBDObjectNames.id(imageName: source)
        let destinationObject = RBDObjectNames.id(imageName: destination)
        let content = try await io.operate(sourceObject, [.read(offset: 0, length: 0)]).first ?? ByteBuffer()
        do {
            _ = try await io.operate(destinationObject, [.create(exclusive: true), .writeFull(content)])
        } catch where error.errno == 17 {
            throw RADOSError(.alreadyExists, "rbd image \(destination) already exists", errno: 17)
        }
        do {
            _ = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryRename(from: source, to: destination, id: id)])
        } catch {
            try? await io.remove(destinationObject)
            throw error
        }
        try await io.remove(sourceObject)
    }
}
