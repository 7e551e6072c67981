import Foundation
import RADOSProto
import RBDCache
import Testing
@testable import RBDCore

/// The precedence rules of Ceph's "QEMU and RBD" guide, "QEMU Cache Options".
@Suite struct ImageSpecConfigurationTests {
    func confFile(_ text: String) throws -> (path: String, cleanup: () -> Void) {
        let dir = NSTemporaryDirectory() + "swiftrbd-spec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/ceph.conf"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return (path, { try? FileManager.default.removeItem(atPath: dir) })
    }

    @Test(arguments: [
        (CacheMode.writeback, true, 25_165_824, CacheMode.writeback),
        (CacheMode.writethrough, true, 0, CacheMode.writethrough),
        (CacheMode.none, false, 25_165_824, CacheMode.none),
    ])
    func cacheModeOverridesDefaults(mode: CacheMode, enabled: Bool, maxDirty: Int, effective: CacheMode) throws {
        var config = try RADOSConfiguration()
        try config.applyCacheMode(mode)
        let policy = try config.cachePolicy()
        #expect(policy.enabled == enabled)
        #expect(policy.maxDirtyBytes == maxDirty)
        #expect(policy.mode(afterFirstFlush: true) == effective)
        #expect(config.source(of: "rbd_cache") == .application)
    }

    @Test func explicitFileSettingsOverrideCacheMode() throws {
        let (path, cleanup) = try confFile("[client]\nrbd cache = false\n")
        defer { cleanup() }
        var config = try RADOSConfiguration.load(configFile: path, environment: [:])
        try config.applyCacheMode(.writeback)
        #expect(try config.cachePolicy().enabled == false)
        #expect(config.source(of: "rbd_cache") == .file)
        // What the file does not set, the cache mode still decides.
        try config.applyCacheMode(.writethrough)
        #expect(try config.cachePolicy().maxDirtyBytes == 0)
        #expect(config.source(of: "rbd_cache_max_dirty") == .application)
    }

    @Test func commandLineOverridesFile() throws {
        let (path, cleanup) = try confFile("[global]\nrbd_cache = false\nrbd_cache_max_dirty = 1000\n")
        defer { cleanup() }
        var config = try RADOSConfiguration.load(configFile: path, arguments: ["--rbd-cache", "true"], environment: [:])
        try config.applyCacheMode(.none)
        #expect(try config.cachePolicy().enabled == true)
        #expect(config.source(of: "rbd_cache") == .override)
        #expect(try config.cachePolicy().maxDirtyBytes == 1000)
    }

    @Test func specOptionsOverrideFileAndCacheMode() throws {
        let (path, cleanup) = try confFile("[global]\nrbd_cache = true\n[client.qemu]\nrbd_cache_max_dirty = 5\n")
        defer { cleanup() }
        let spec = try ImageSpec.parse("rbd:data/squeeze:conf=\(ImageSpec.escape(path)):id=qemu:rbd_cache=false")
        let config = try spec.configuration(environment: [:], cacheMode: .writeback)
        #expect(config.name == "client.qemu")
        #expect(config.configFile == path)
        #expect(try config.bool("rbd_cache") == false)
        #expect(config.source(of: "rbd_cache") == .override)
        #expect(try config.int("rbd_cache_max_dirty") == 5)
        #expect(try config.cachePolicy().mode(afterFirstFlush: true) == CacheMode.none)

        var applied = try RADOSConfiguration()
        try spec.apply(to: &applied)
        #expect(applied.configFile == path)
        #expect(try applied.bool("rbd_cache") == false)
    }

    @Test func writethroughUntilFlushFromConfig() throws {
        var config = try RADOSConfiguration()
        try config.applyCacheMode(.writeback)
        #expect(try config.cachePolicy().mode(afterFirstFlush: false) == .writethrough)
        try config.set("rbd_cache_writethrough_until_flush", to: "false")
        #expect(try config.cachePolicy().mode(afterFirstFlush: false) == .writeback)
    }
    /// `rbd_cache_policy` and the sizes come through with their Ceph names; a policy or
    /// a scheduler Ceph does not know is refused, naming it.
    @Test func cachePolicyAndSchedulerOptions() throws {
        var config = try RADOSConfiguration()
        #expect(try config.cachePolicy() == CachePolicy())
        #expect(try config.ioScheduler() == .simple(maxDelayMilliseconds: 0))
        try config.set("rbd_cache_policy", to: "writeback")
        try config.set("rbd_cache_size", to: "64M")
        try config.set("rbd_cache_target_dirty", to: "1M")
        try config.set("rbd_cache_max_dirty_age", to: "2.5")
        try config.set("rbd_io_scheduler_simple_max_delay", to: "3")
        let policy = try config.cachePolicy()
        #expect(policy.kind == .writeback && policy.sizeBytes == 64 << 20 && policy.targetDirtyBytes == 1 << 20 && policy.maxDirtyAge == 2.5)
        #expect(try config.ioScheduler() == .simple(maxDelayMilliseconds: 3))
        try config.set("rbd_io_scheduler", to: "none")
        #expect(try config.ioScheduler() == IOScheduler.none)
        try config.set("rbd_io_scheduler", to: "deadline")
        #expect(throws: RADOSError.self) { try config.ioScheduler() }
        try config.set("rbd_cache_policy", to: "fast")
        let refusal = #expect(throws: RADOSError.self) { try config.cachePolicy() }
        #expect(refusal?.message.contains("'fast'") == true)
    }
}

