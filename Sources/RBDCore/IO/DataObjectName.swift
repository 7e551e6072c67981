import RADOSProto

/// Data object names as strings, for the paths that need one (discards, copy-ups): the
/// same text as `RBDObjectNames.data(prefix:objectNumber:)` (`<prefix>.<object number
/// as %016x>`, ceph/ceph `src/librbd/Utils.cc`, `data_object_name`), spelled once by
/// ``ObjectName``, which the read and write paths hand on unspelled.
enum DataObjectName {
    static func make(prefix: String, objectNumber: UInt64) -> String {
        ObjectName(dataObjectPrefix: prefix, number: objectNumber).description
    }
}
