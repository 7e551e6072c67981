import Foundation
import Testing

/// Debian's python3-rbd and python3-rados (Cython over the C API; what OpenStack's Cinder
/// and Glance drivers use) on SwiftRBD's C library: they load (every symbol they bind
/// exists, librados' one versioned symbol included), and a script using the common calls
/// prints the same on our library as on Ceph's.
@Suite(.requiresCluster, .requiresPythonRBD, .requiresTools("rbd"), .serialized)
struct CABIPythonTests {
    /// Connects, creates, lists, writes, reads, stats, snapshots, resizes, diffs, removes.
    static let script = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    r = rbd.RBD()
    name = sys.argv[2]
    r.create(io, name, 16 << 20)
    print('listed', name in r.list(io))
    with rbd.Image(io, name) as image:
        image.write(b'\\x42' * 8192, 4096)
        print('read', image.read(4096, 8192) == b'\\x42' * 8192)
        st = image.stat()
        print('stat', st['size'], st['order'], st['obj_size'], st['num_objs'])
        image.create_snap('s1')
        image.write(b'\\x43' * 4096, 8 << 20)
        print('snaps', [(s['name'], s['size']) for s in image.list_snaps()])
        image.resize(32 << 20)
        print('size', image.size())
        extents = []
        image.diff_iterate(0, image.size(), 's1', lambda o, l, e: extents.append((o, l, e)))
        print('diff', extents)
        print('features', image.features())
        image.remove_snap('s1')
    r.remove(io, name)
    print('removed', name not in r.list(io))
    io.close()
    cluster.shutdown()
    """

    @Test func theCommonCallsAnswerAsOnCephsLibrary() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try CABIEnvironment.linkLibraries()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-python-\(UUID().uuidString).py")
        try Data(Self.script.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let suffix = UInt32.random(in: 0...UInt32.max)
        let (theirs, ours) = try await ClusterEnvironment.offThreadPool { () throws -> ((Int32, String, String), (Int32, String, String)) in
            let theirs = try ClusterEnvironment.run([ClusterEnvironment.python, file.path, conf, "py-librbd-\(suffix)"])
            let ours = try ClusterEnvironment.run([CABIEnvironment.wrapper, ClusterEnvironment.python, file.path, conf, "py-swiftrbd-\(suffix)"])
            return ((theirs.status, String(decoding: theirs.stdout, as: UTF8.self), theirs.stderr), (ours.status, String(decoding: ours.stdout, as: UTF8.self), ours.stderr))
        }
        try #require(theirs.0 == 0, "the script on Ceph's librbd: \(theirs.2)")
        #expect(ours.0 == 0, "the script on SwiftRBD: \(ours.2)")
        #expect(ours.1 == theirs.1, "SwiftRBD printed\n\(ours.1)\nlibrbd printed\n\(theirs.1)")
        #expect(!ours.2.contains("not implemented"), "\(ours.2)")
    }

    @Test func exportsEverySymbolThePythonModulesImport() throws {
        try CABIEnvironment.linkLibraries()
        let modules = try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/python3/dist-packages")
            .filter { ($0.hasPrefix("rbd.cpython-") || $0.hasPrefix("rados.cpython-")) && $0.hasSuffix(".so") }
        try #require(modules.count == 2, "python3-rbd and python3-rados: \(modules)")
        let exported = try CABIEnvironment.dynamicSymbols(CABIEnvironment.library, defined: true)
        for module in modules {
            let imported = try CABIEnvironment.dynamicSymbols("/usr/lib/python3/dist-packages/\(module)", defined: false).filter { $0.hasPrefix("rbd_") || $0.hasPrefix("rados_") }
            let missing = imported.subtracting(exported).sorted()
            #expect(missing.isEmpty, "\(module) needs \(missing.joined(separator: ", "))")
        }
    }
}
