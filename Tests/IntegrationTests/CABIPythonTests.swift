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

    /// Runs `script` (with the configuration file and an image name) on Ceph's library,
    /// then on ours, and expects both to succeed and print the same; returns what
    /// librbd printed.
    @discardableResult
    static func expectSameOutput(_ script: String, label: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let conf = try #require(ClusterEnvironment.cephConf)
        try CABIEnvironment.linkLibraries()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-python-\(UUID().uuidString).py")
        try Data(script.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let suffix = UInt32.random(in: 0...UInt32.max)
        let (theirs, ours) = try await ClusterEnvironment.offThreadPool { () throws -> ((Int32, String, String), (Int32, String, String)) in
            let theirs = try ClusterEnvironment.run([ClusterEnvironment.python, file.path, conf, "py-\(label)-librbd-\(suffix)"])
            let ours = try ClusterEnvironment.run([CABIEnvironment.wrapper, ClusterEnvironment.python, file.path, conf, "py-\(label)-swiftrbd-\(suffix)"])
            return ((theirs.status, String(decoding: theirs.stdout, as: UTF8.self), theirs.stderr), (ours.status, String(decoding: ours.stdout, as: UTF8.self), ours.stderr))
        }
        try #require(theirs.0 == 0, "the script on Ceph's librbd: \(theirs.2)", sourceLocation: sourceLocation)
        #expect(ours.0 == 0, "the script on SwiftRBD: \(ours.2)", sourceLocation: sourceLocation)
        #expect(ours.1 == theirs.1, "SwiftRBD printed\n\(ours.1)\nlibrbd printed\n\(theirs.1)", sourceLocation: sourceLocation)
        #expect(!ours.2.contains("not implemented"), "\(ours.2)", sourceLocation: sourceLocation)
        return theirs.1
    }

    @Test func theCommonCallsAnswerAsOnCephsLibrary() async throws {
        try await Self.expectSameOutput(Self.script, label: "common")
    }

    /// rbd_encryption_format/rbd_encryption_load (LUKS1 AES-128, LUKS2 AES-256) with
    /// librbd's key-derivation cost: the effective size, an unaligned write read back, a
    /// wrong passphrase refused (EPERM), and a second handle loading the header.
    static let encryptionScript = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    r = rbd.RBD()
    name = sys.argv[2]
    # Never-written sectors inside an object librbd decrypts into noise, so only the
    # written bytes and a range past every object's end are compared.
    def check(image):
        return image.read(5000, 1000) == b'\\x61' * 1000 and image.read(1 << 20, 4096) == b'\\0' * 4096
    for fmt, alg in ((rbd.RBD_ENCRYPTION_FORMAT_LUKS1, rbd.RBD_ENCRYPTION_ALGORITHM_AES128), (rbd.RBD_ENCRYPTION_FORMAT_LUKS2, rbd.RBD_ENCRYPTION_ALGORITHM_AES256)):
        r.create(io, name, 32 << 20)
        with rbd.Image(io, name) as image:
            image.encryption_format(fmt, 'pass phrase', alg)
            print('formatted', image.size(), image.stat()['size'])
            image.write(b'\\x61' * 1000, 5000)
            print('read', check(image))
        with rbd.Image(io, name) as image:
            try:
                image.encryption_load(fmt, 'wrong')
                print('wrong passphrase accepted')
            except rbd.PermissionError:
                print('wrong passphrase refused')
            image.encryption_load(fmt, 'pass phrase')
            print('loaded', image.size(), check(image))
            try:
                image.encryption_load(fmt, 'pass phrase')
            except rbd.ImageExists:
                print('second load refused')
        r.remove(io, name)
    io.close()
    cluster.shutdown()
    """

    @Test func encryptionFormatAndLoadAnswerAsOnCephsLibrary() async throws {
        let output = try await Self.expectSameOutput(Self.encryptionScript, label: "luks")
        #expect(output.contains("formatted 29360128 29360128") && output.contains("formatted 16777216 16777216"), "\(output)")
        #expect(!output.contains("False") && !output.contains("accepted"), "\(output)")
    }

    /// Clones (rbd_clone3, v2), writing them (copy-up), the explicit exclusive lock
    /// (rbd_lock_acquire/release) and flatten (rbd_flatten_with_progress), after which
    /// the parent snapshot is free to go.
    static let cloneScript = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1])
    cluster.conf_set('rbd_default_clone_format', '2')
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    r = rbd.RBD()
    name = sys.argv[2]
    r.create(io, name, 8 << 20, old_format=False)
    with rbd.Image(io, name) as image:
        image.write(b'\\x11' * (4 << 20), 0)
        image.create_snap('s')
    r.clone(io, name, 's', io, name + '-c')
    expected = b'\\x11' * 4096 + b'\\x22' * 4096 + b'\\x11' * 4096
    with rbd.Image(io, name + '-c') as child:
        child.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        child.write(b'\\x22' * 4096, 4096)
        print('clone read', child.read(0, 12288) == expected, child.read(5 << 20, 4096) == b'\\0' * 4096)
        child.lock_release()
        child.lock_acquire(rbd.RBD_LOCK_MODE_EXCLUSIVE)
        child.flatten()
        print('flattened read', child.read(0, 12288) == expected)
    with rbd.Image(io, name) as image:
        image.remove_snap('s')
        print('parent snaps', [s['name'] for s in image.list_snaps()])
    r.remove(io, name + '-c')
    r.remove(io, name)
    print('removed', name not in r.list(io))
    io.close()
    cluster.shutdown()
    """

    @Test func clonesLocksAndFlattenAnswerAsOnCephsLibrary() async throws {
        let printed = try await Self.expectSameOutput(Self.cloneScript, label: "clone")
        #expect(printed.contains("clone read True True") && printed.contains("flattened read True"), "\(printed)")
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
    /// A writeback writer (librbd's options through python3-rbd on our library) is
    /// killed with SIGKILL right after a flush returned: everything written before the
    /// flush is on the OSDs; what it wrote after, held in its cache, is not (which shows
    /// the cache really was writeback).
    static let killedWriter = """
    import sys, rados, rbd
    cluster = rados.Rados(conffile=sys.argv[1], conf={'rbd_cache': 'true', 'rbd_cache_policy': 'writeback',
        'rbd_cache_writethrough_until_flush': 'false', 'rbd_cache_max_dirty_age': '600'})
    cluster.connect()
    io = cluster.open_ioctx('rbd')
    image = rbd.Image(io, sys.argv[2])
    for block in range(256):
        image.write(bytes([block * 7 % 251 + 1]) * 4096, block * 4096)
    image.flush()
    print('flushed', flush=True)
    n = 0
    while True:
        image.write(bytes([n % 251 + 1]) * 4096, (4 << 20) + (n % 256) * 4096)
        n += 1
    """

    @Test func aKilledWritebackWriterLosesNothingFlushed() async throws {
        let conf = try #require(ClusterEnvironment.cephConf)
        try CABIEnvironment.linkLibraries()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swiftrbd-kill-\(UUID().uuidString).py")
        try Data(Self.killedWriter.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let name = "py-kill-\(UInt32.random(in: 0...UInt32.max))"
        let exported = try await ClusterEnvironment.offThreadPool { () throws -> [UInt8] in
            _ = try ClusterEnvironment.ceph("rbd", ["create", "rbd/\(name)", "--size", "8M", "--image-feature", "layering"])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CABIEnvironment.wrapper)
            process.arguments = [ClusterEnvironment.python, file.path, conf, name]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            // Kill it as soon as it says the flush returned.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("flushed\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try #require(String(decoding: seen, as: UTF8.self).contains("flushed"), "the writer did not get to its flush: \(stderr)")
            return Array(try ClusterEnvironment.ceph("rbd", ["export", "--no-progress", "rbd/\(name)", "-"]))
        }
        try await ClusterEnvironment.offThreadPool { ClusterEnvironment.removeImageAfterKill("rbd/\(name)") }
        try #require(exported.count == 8 << 20)
        for block in 0..<256 {
            let want = UInt8(block * 7 % 251 + 1)
            #expect(exported[block * 4096..<(block + 1) * 4096].allSatisfy { $0 == want }, "block \(block), written before the flush, is not on the OSDs")
        }
        #expect(exported[(4 << 20)..<(5 << 20)].allSatisfy { $0 == 0 }, "writes after the flush reached the OSDs: the cache was not writeback")
    }

}
