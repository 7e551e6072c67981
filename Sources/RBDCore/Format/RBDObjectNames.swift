/// Names of the RADOS objects an RBD format 2 image uses.
///
/// Source: ceph/ceph `src/include/rbd_types.h` (`RBD_DIRECTORY`, `RBD_ID_PREFIX`,
/// `RBD_HEADER_PREFIX`, `RBD_DATA_PREFIX`, `RBD_OBJECT_MAP_PREFIX`) and
/// `src/librbd/Utils.cc` (`get_object_name`: the prefix, a dot, the object number as
/// 16 lower-case hex digits).
package enum RBDObjectNames {
    /// The pool's (or namespace's) name ↔ id directory.
    package static let directory = "rbd_directory"
    /// Pool-level RBD marker written by `rbd pool init`.
    package static let info = "rbd_info"
    /// Lists the namespaces of a pool.
    package static let namespaces = "rbd_namespace"

    /// `rbd_id.<name>`: holds the image's id.
    package static func id(imageName: String) -> String { "rbd_id." + imageName }
    /// `rbd_header.<id>`: the image's metadata (omap, through the `rbd` class).
    package static func header(imageID: String) -> String { "rbd_header." + imageID }
    /// `rbd_object_map.<id>` (and `.<snap id as %016x>` for a snapshot's map).
    package static func objectMap(imageID: String, snapID: UInt64? = nil) -> String {
        guard let snapID else { return "rbd_object_map." + imageID }
        return "rbd_object_map." + imageID + "." + hex16(snapID)
    }
    /// The data-object prefix librbd stores in the header: `rbd_data.<id>`.
    package static func dataPrefix(imageID: String) -> String { "rbd_data." + imageID }
    /// A data object's name: `<prefix>.<object number as %016x>`.
    package static func data(prefix: String, objectNumber: UInt64) -> String { prefix + "." + hex16(objectNumber) }

    /// `%016llx`.
    package static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
