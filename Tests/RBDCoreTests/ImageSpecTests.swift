import RADOSProto
import Testing
@testable import RBDCore

@Suite struct ImageSpecTests {
    @Test func qemuForms() throws {
        #expect(try ImageSpec.parse("rbd:data/foo") == ImageSpec(pool: "data", image: "foo"))
        #expect(try ImageSpec.parse("rbd:data/ns/foo@snap1")
            == ImageSpec(pool: "data", namespace: "ns", image: "foo", snapshot: "snap1"))
        let spec = try ImageSpec.parse("rbd:data/squeeze:rbd_cache=true:conf=/etc/ceph/x.conf:id=qemu:mon_host=[v2\\:1.2.3.4\\:3300]")
        #expect(spec.image == "squeeze")
        #expect(spec.configFile == "/etc/ceph/x.conf")
        #expect(spec.user == "qemu")
        #expect(spec.cephOptions == [.init(key: "rbd_cache", value: "true"), .init(key: "mon_host", value: "[v2:1.2.3.4:3300]")])
    }

    @Test func valuesMayContainEquals() throws {
        let spec = try ImageSpec.parse("rbd:p/i:key=AQD==")
        #expect(spec.options == [.init(key: "key", value: "AQD==")])
    }

    @Test func escapes() throws {
        let spec = try ImageSpec.parse(#"rbd:po\/ol/im\@a\:ge\\@s\:n"#)
        #expect(spec == ImageSpec(pool: "po/ol", image: #"im@a:ge\"#, snapshot: "s:n"))
    }

    @Test func plainForm() throws {
        #expect(try ImageSpec.parse("foo") == ImageSpec(pool: "rbd", image: "foo"))
        #expect(try ImageSpec.parse("foo@s") == ImageSpec(pool: "rbd", image: "foo", snapshot: "s"))
        #expect(try ImageSpec.parse("data/foo") == ImageSpec(pool: "data", image: "foo"))
        #expect(try ImageSpec.parse("data/ns/foo@s") == ImageSpec(pool: "data", namespace: "ns", image: "foo", snapshot: "s"))
        #expect(try ImageSpec.parse("data/a:b") == ImageSpec(pool: "data", image: "a:b"))
        #expect(ImageSpec(pool: "data", namespace: "ns", image: "a/b", snapshot: "s").formatPlain() == #"data/ns/a\/b@s"#)
    }

    @Test func format() {
        let spec = ImageSpec(pool: "p", namespace: "n", image: "i", snapshot: "s", options: [.init(key: "conf", value: "/a:b")])
        #expect(spec.format() == #"rbd:p/n/i@s:conf=\/a\:b"#)
        #expect(spec.description == spec.format())
    }

    @Test(arguments: [
        ("rbd:", "missing pool"),
        ("rbd:foo", "missing pool"),
        ("rbd:/foo", "empty pool name"),
        ("rbd:data/", "empty image name"),
        ("rbd:data//foo", "empty namespace name"),
        ("rbd:a/b/c/d", "too many '/'"),
        ("rbd:data/foo@", "empty snapshot name"),
        ("rbd:data/foo@a@b", "more than one '@'"),
        ("rbd:data/foo\\", "dangling '\\'"),
        ("rbd:data/foo:rbd_cache", "has no '=value'"),
        ("rbd:data/foo:=x", "empty key"),
        ("rbd:data/foo:", "empty option"),
        ("rbd:data/foo:a=1::b=2", "empty option"),
        ("", "empty image name"),
        ("data/", "empty image name"),
        ("@s", "empty image name"),
    ])
    func malformed(text: String, fragment: String) {
        do {
            let spec = try ImageSpec.parse(text)
            Issue.record("expected an error for \(text.debugDescription), got \(spec)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.errno == 22)
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    /// parse(format(x)) == x over random names full of delimiters (seeded, reproducible).
    @Test func roundTripProperty() throws {
        var rng = SplitMix64(seed: 0x5EED_1234)
        let alphabet: [Character] = ["a", "b", "Z", "0", "/", "@", ":", "\\", "=", " ", "-", "_", ".", "é", "#", ";"]
        func name(_ minLength: Int) -> String {
            let length = Int.random(in: minLength...8, using: &rng)
            return String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
        }
        for _ in 0..<2000 {
            let spec = ImageSpec(
                pool: name(1),
                namespace: Bool.random(using: &rng) ? name(1) : "",
                image: name(1),
                snapshot: Bool.random(using: &rng) ? name(1) : nil,
                options: (0..<Int.random(in: 0...3, using: &rng)).map { _ in .init(key: name(1), value: name(0)) }
            )
            let text = spec.format()
            let back = try ImageSpec.parse(text)
            #expect(back == spec, "\(text)")
            if spec.options.isEmpty {
                #expect(try ImageSpec.parse(spec.formatPlain()) == spec)
            }
        }
    }
}

extension ImageSpecTests {
    /// Random strings of delimiters either parse or throw EINVAL; parsing never traps.
    @Test func arbitraryInputNeverTraps() {
        var rng = SplitMix64(seed: 42)
        let pieces = ["rbd:", "/", "@", ":", "=", "\\", "a", "é", "", " ", "conf", "id"]
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            do {
                let spec = try ImageSpec.parse(text)
                #expect(!spec.pool.isEmpty && !spec.image.isEmpty)
            } catch {
                #expect(error.errno == 22)
            }
        }
    }
}
