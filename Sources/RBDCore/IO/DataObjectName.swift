/// Data object names built in one allocation for the I/O path: the same text as
/// `RBDObjectNames.data(prefix:objectNumber:)` (`<prefix>.<object number as %016x>`,
/// ceph/ceph `src/librbd/Utils.cc`, `data_object_name`), without the intermediate
/// strings of formatting the number and padding it.
enum DataObjectName {
    static func make(prefix: String, objectNumber: UInt64) -> String {
        var prefix = prefix
        return prefix.withUTF8 { head in
            String(unsafeUninitializedCapacity: head.count + 17) { out in
                _ = out.initialize(fromContentsOf: head)
                out[head.count] = UInt8(ascii: ".")
                var value = objectNumber
                var index = head.count + 16
                while index > head.count {
                    let digit = UInt8(truncatingIfNeeded: value & 0xF)
                    out[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                    value >>= 4
                    index -= 1
                }
                return head.count + 17
            }
        }
    }
}
