import Foundation
import Testing
@testable import RADOSProto

@Suite struct RADOSConfigurationTests {
    static let key = "AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ=="

    @Test func defaultsArePacifics() throws {
        let config = try RADOSConfiguration()
        #expect(config.name == "client.admin")
        #expect(try config.bool("rbd_cache") == true)
        #expect(try config.int("rbd_cache_size") == 33_554_432)
        #expect(try config.int("rbd_cache_max_dirty") == 25_165_824)
        #expect(try config.int("rbd_cache_target_dirty") == 16_777_216)
        #expect(try config.double("rbd_cache_max_dirty_age") == 1.0)
        #expect(try config.bool("rbd_cache_writethrough_until_flush") == true)
        #expect(try config.string("ms_client_mode") == "crc secure")
        #expect(try config.string("ms_mon_client_mode") == "secure crc")
        #expect(try config.int("client_mount_timeout") == 300)
        #expect(try config.int("rados_osd_op_timeout") == 0)
        #expect(try config.string("auth_client_required") == "cephx, none")
        #expect(try config.string("keyring") == "/etc/ceph/ceph.client.admin.keyring,/etc/ceph/ceph.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin,")
        #expect(config.source(of: "rbd_cache") == .default)
        #expect(config.source(of: "no_such_option") == nil)
    }

    @Test func fileSectionsBySpecificity() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("prod.conf", """
            [global]
            rbd_cache_size = 1
            log file = /var/log/$cluster-$name.log
            [client]
            rbd_cache_size = 2
            [client.foo]
            rbd_cache_size = 3
            [osd]
            rbd_cache_size = 4
            """)
        let foo = try RADOSConfiguration.load(configFile: path, arguments: ["--id", "foo"], environment: [:])
        #expect(try foo.int("rbd_cache_size") == 3)
        #expect(foo.source(of: "rbd_cache_size") == .file)
        #expect(foo.cluster == "prod")  // from the file name, like Ceph
        #expect(try foo.string("log_file") == "/var/log/prod-client.foo.log")
        let bar = try RADOSConfiguration.load(configFile: path, arguments: ["--id", "bar"], environment: [:])
        #expect(try bar.int("rbd_cache_size") == 2)
        let osd = try RADOSConfiguration.load(configFile: path, arguments: ["--name", "osd.1"], environment: [:])
        #expect(try osd.int("rbd_cache_size") == 4)
        let mon = try RADOSConfiguration.load(configFile: path, arguments: ["--name", "mon.a", "--cluster", "zz"], environment: [:])
        #expect(try mon.int("rbd_cache_size") == 1)
        #expect(try mon.string("log_file") == "/var/log/zz-mon.a.log")
    }

    @Test func dashesFoldOnTheCommandLineButNotInFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("ceph.conf", "[global]\nrbd-cache = false\nrbd cache size = 1000\n")
        let config = try RADOSConfiguration.load(configFile: path, arguments: ["--rbd-cache-max-dirty", "7"], environment: [:])
        #expect(try config.bool("rbd_cache") == true)  // ceph-conf 16.2 agrees
        #expect(try config.int("rbd_cache_size") == 1000)
        #expect(try config.int("rbd-cache-max-dirty") == 7)
        #expect(config.warnings.contains { $0.contains("rbd-cache") })
    }

    @Test func expansion() throws {
        var config = try RADOSConfiguration(name: "client.foo", cluster: "c1")
        try config.set("log_file", to: "/a/${cluster}/$type/$id/$name/$rbd_cache_size/$nosuch/$$/x$id.y")
        #expect(try config.string("log_file") == "/a/c1/client/foo/client.foo/33554432/$nosuch/$$/xfoo.y")
        try config.set("admin_socket", to: "$log_file.asok")
        #expect(try config.string("admin_socket") == "/a/c1/client/foo/client.foo/33554432/$nosuch/$$/xfoo.y.asok")
        try config.set("log_file", to: "$admin_socket")
        #expect(throws: RADOSError.self) { try config.string("log_file") }
    }

    @Test func environmentAndArgumentOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("ceph.conf", "[global]\nrbd_cache_size = 1000\n")
        let env = ["CEPH_CONF": path, "CEPH_ARGS": "--id envuser --rbd_cache_size 5 --rbd_cache_max_dirty=9"]
        let config = try RADOSConfiguration.load(arguments: ["--rbd-cache-size", "6"], environment: env)
        #expect(config.configFile == path)
        #expect(config.id == "envuser")
        #expect(try config.int("rbd_cache_size") == 6)  // explicit arguments after CEPH_ARGS
        #expect(try config.int("rbd_cache_max_dirty") == 9)
        #expect(config.source(of: "rbd_cache_max_dirty") == .override)
        #expect(config.value(of: "rbd_cache_size", in: .file) == "1000")
        #expect(config.value(of: "rbd_cache_size", in: .default) == "33554432")
    }

    @Test func missingNamedFileIsNotFound() {
        do {
            _ = try RADOSConfiguration.load(configFile: "/nonexistent/ceph.conf", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("/nonexistent/ceph.conf"))
        }
    }

    @Test func searchWithoutAnyFileIsFine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try RADOSConfiguration.load(environment: ["HOME": dir.path], searchDefaultPaths: false)
        #expect(config.configFile == nil)
        #expect(ConfigFileSearch.defaultPaths(cluster: "ceph", home: "/h") == ["/etc/ceph/ceph.conf", "/h/.ceph/ceph.conf", "./ceph.conf"])
        #expect(ConfigFileSearch.clusterName(fromPath: "/etc/ceph/backup.conf") == "backup")
        #expect(ConfigFileSearch.clusterName(fromPath: "/tmp/conf") == "ceph")
    }

    @Test func layersAreOrderIndependent() throws {
        var config = try RADOSConfiguration()
        try config.set("rbd_cache", to: "false", source: .override)
        try config.set("rbd_cache", to: "true", source: .application)  // set later, still lower
        #expect(try config.bool("rbd_cache") == false)
        #expect(config.source(of: "rbd_cache") == .override)
        config.unset("rbd_cache", source: .override)
        #expect(try config.bool("rbd_cache") == true)
        #expect(config.source(of: "rbd_cache") == .application)
        #expect(RADOSConfiguration.Source.allCases.sorted() == [.default, .application, .file, .override])
    }

    @Test func invalidValues() throws {
        var config = try RADOSConfiguration()
        #expect(throws: RADOSError.self) { try config.set("rbd_cache", to: "maybe") }
        #expect(throws: RADOSError.self) { try config.set("rbd_cache_size", to: "lots") }
        try config.set("rbd_cache_size", to: "32M")
        #expect(try config.int("rbd_cache_size") == 32 << 20)
        try config.set("rbd_cache_max_dirty", to: "1Ki")
        #expect(try config.int("rbd_cache_max_dirty") == 1024)
        do {
            try config.set("key", to: "not-a-secret-shown")
            try config.set("rbd_cache", to: "yes")
        } catch {
            #expect(!error.description.contains("not-a-secret-shown"))
        }
        #expect(throws: RADOSError.self) { try RADOSConfiguration(name: "admin") }
        // A bad value in a file is ignored with a warning, as Ceph does.
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("ceph.conf", "[global]\nrbd_cache = on\n")
        let loaded = try RADOSConfiguration.load(configFile: path, environment: [:])
        #expect(try loaded.bool("rbd_cache") == true)
        #expect(loaded.source(of: "rbd_cache") == .default)
        #expect(loaded.warnings.contains { $0.contains(":2: ignoring rbd_cache") })
    }

    @Test func monitorsFromMonHostOrMonSections() throws {
        var config = try RADOSConfiguration()
        config.apply(try ConfFile.parse("[global]\nmon host = [v2:10.0.0.1:3300,v1:10.0.0.1:6789] 10.0.0.2\n"))
        #expect(try config.monitors().count == 2)
        var sections = try RADOSConfiguration()
        sections.apply(try ConfFile.parse("[mon.a]\nmon addr = 10.0.0.1:6789\n[mon.b]\nmon_addr = [v2:10.0.0.2:3300,v1:10.0.0.2:6789]\n"))
        let mons = try sections.monitors()
        #expect(mons == [[MonitorAddress(kind: .v1, host: "10.0.0.1", port: 6789)],
                         [MonitorAddress(kind: .v2, host: "10.0.0.2", port: 3300), MonitorAddress(kind: .v1, host: "10.0.0.2", port: 6789)]])
        let none = try RADOSConfiguration()
        #expect(throws: RADOSError.self) { try none.monitors() }
    }

    @Test func secretFromKeyringKeyOrKeyfile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("c.client.foo.keyring", "[client.foo]\n\tkey = \(Self.key)\n")
        let conf = try dir.write("c.conf", "[global]\nkeyring = \(dir.path)/$cluster.$name.keyring\n")
        let config = try RADOSConfiguration.load(configFile: conf, arguments: ["--id", "foo"], environment: [:])
        #expect(try config.secret().base64 == Self.key)

        let other = try RADOSConfiguration.load(configFile: conf, arguments: ["--id", "bar"], environment: [:])
        #expect(throws: RADOSError.self) { try other.secret() }

        var direct = try RADOSConfiguration()
        try direct.set("keyring", to: "/nonexistent")
        #expect(throws: RADOSError.self) { try direct.secret() }
        try direct.set("key", to: Self.key)
        #expect(try direct.secret().base64 == Self.key)

        var fromFile = try RADOSConfiguration()
        try fromFile.set("keyring", to: "/nonexistent")
        let keyfile = try dir.write("secret", Self.key + "\n")
        try fromFile.set("keyfile", to: keyfile)
        #expect(try fromFile.secret().base64 == Self.key)
    }
}
