import Testing
@testable import RADOSProto

@Suite struct CephArgumentsTests {
    @Test func identityAndFiles() throws {
        let args = try CephArguments.parse(["--id", "foo", "-c", "/a.conf", "--keyring=/k", "--cluster", "c2"])
        #expect(args.id == "foo")
        #expect(args.configFile == "/a.conf")
        #expect(args.cluster == "c2")
        #expect(args.options.map(\.name) == ["keyring"])
        #expect(args.options.map(\.value) == ["/k"])
        let named = try CephArguments.parse(["-n", "client.bar", "-i", "x", "--conf=/b.conf"])
        #expect(named.name == "client.bar")
        #expect(named.id == "x")
        #expect(named.configFile == "/b.conf")
    }

    @Test func optionsWithDashesSpaceOrEquals() throws {
        let args = try CephArguments.parse(["--rbd-cache-size", "5", "--rbd_cache_max_dirty=0", "--rbd-cache", "--no-rbd-cache-writethrough-until-flush", "--log_to_stderr", "false"])
        #expect(args.options.map(\.name) == ["rbd_cache_size", "rbd_cache_max_dirty", "rbd_cache", "rbd_cache_writethrough_until_flush", "log_to_stderr"])
        #expect(args.options.map(\.value) == ["5", "0", "true", "false", "false"])
    }

    @Test func environmentSplitsOnBlanks() throws {
        #expect(CephArguments.splitEnvironment("  --id foo\t--rbd_cache=false ") == ["--id", "foo", "--rbd_cache=false"])
    }

    @Test func errors() {
        #expect(throws: RADOSError.self) { try CephArguments.parse(["--id"]) }
        #expect(throws: RADOSError.self) { try CephArguments.parse(["-x"]) }
        #expect(throws: RADOSError.self) { try CephArguments.parse(["--rbd-cache-size"]) }
    }
}
