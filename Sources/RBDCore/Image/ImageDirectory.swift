import NIOCore
import RADOSProto

/// The images of a pool (or namespace), from its `rbd_directory` object.
public enum ImageDirectory {
    /// Image names in the directory, sorted (what `rbd ls` prints). An absent directory is an empty pool.
    public static func list(_ io: IOContext) async throws(RADOSError) -> [String] {
        var names: [String] = []
        var after = ""
        while true {
            let outputs: [ByteBuffer]
            do {
                outputs = try await io.operate(RBDObjectNames.directory, [ClsRBD.directoryList(startAfter: after, maxReturn: 1024)])
            } catch where error.code == .notFound {
                return names
            }
            let page: [String: String]
            do { page = try ClsRBD.decodeDirectoryList(outputs.first ?? ByteBuffer()) } catch { throw (error as? DencError)?.radosError ?? RADOSError(.malformedData, "rbd_directory does not decode") }
            let sorted = page.keys.sorted()
            names += sorted
            guard sorted.count == 1024, let last = sorted.last else { return names }
            after = last
        }
    }
}
