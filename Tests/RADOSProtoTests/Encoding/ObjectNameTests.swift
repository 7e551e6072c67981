import NIOCore
import Testing
@testable import RADOSProto

/// A data object's name kept as prefix and number is, wherever it is used, the name
/// librbd spells (`<prefix>.<number as 16 hex digits>`): its text, its denc encoding and
/// its placement hash, with and without a namespace.
@Suite struct ObjectNameTests {
    static func spelled(_ prefix: String, _ number: UInt64) -> String {
        let hex = String(number, radix: 16)
        return prefix + "." + String(repeating: "0", count: 16 - hex.count) + hex
    }

    @Test(arguments: [(UInt64(0), "rbd_data.10ae6b8b4567"), (0x2a, "rbd_data.5.10ae6b8b4567"), (.max, "p"), (0x0123_4567_89ab_cdef, "")])
    func aDataObjectsNameIsTheSpelledName(number: UInt64, prefix: String) {
        let name = ObjectName(dataObjectPrefix: prefix, number: number)
        let text = Self.spelled(prefix, number)
        #expect(name.description == text)
        #expect(name.utf8Count == text.utf8.count)
        var ours = ByteBuffer()
        ours.writeDencObjectName(name)
        var theirs = ByteBuffer()
        theirs.writeDencString(text)
        #expect(ours == theirs)
        for objectHash in [ObjectHash.rjenkins.rawValue, ObjectHash.linux.rawValue] {
            let pool = PoolInfo(type: 1, size: 3, minSize: 2, crushRule: 0, objectHash: objectHash, pgNum: 64, pgpNum: 64)
            for namespace in ["", "tenant-a"] {
                #expect(pool.hashKey(name, namespace: namespace) == pool.hashKey(text, namespace: namespace), "\(namespace)")
                #expect(pool.hashKey(ObjectName(text), namespace: namespace) == pool.hashKey(text, namespace: namespace))
            }
        }
    }

    /// The joined form hashed for a namespace is `namespace \x1f name`, as Ceph joins it
    /// (`pg_pool_t::hash_key`).
    @Test func aNamespaceIsJoinedWithUnitSeparator() {
        let pool = PoolInfo(type: 1, size: 3, minSize: 2, crushRule: 0, pgNum: 8, pgpNum: 8)
        let joined = Array("ns".utf8) + [0x1F] + Array("obj".utf8)
        #expect(pool.hashKey(ObjectName("obj"), namespace: "ns") == ObjectHash.hash(ObjectHash.rjenkins.rawValue, joined))
    }
}
