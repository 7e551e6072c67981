import Testing
@testable import RADOSProto

/// Fixtures follow what `ceph-conf` 16.2 does with the same text.
@Suite struct ConfFileTests {
    static let fixture = """
        ; a comment
        # another
        [global]
        \tmon host = 1.2.3.4 # trailing comment
          keyring   =   "/x/$id y"   ; after a quoted value
        some_thing = a\\
           b
        esc = a\\#b
        single = 'it is'
        empty =
        [client]
        rbd cache size = 100
        [ client.admin ]
        rbd_cache_size = 200
        [client.foo]
        rbd_cache_size = 300
        rbd_cache_size = 301
        [global]
        merged = yes
        """

    @Test func sectionsKeysAndValues() throws {
        let conf = try ConfFile.parse(Self.fixture)
        #expect(conf.value(section: "global", key: "mon_host") == "1.2.3.4")
        #expect(conf.value(section: "global", key: "mon host") == "1.2.3.4")
        #expect(conf.value(section: "global", key: "keyring") == "/x/$id y")
        #expect(conf.value(section: "global", key: "single") == "it is")
        #expect(conf.value(section: "global", key: "empty") == "")
        #expect(conf.value(section: "client", key: "rbd_cache_size") == "100")
        #expect(conf.sectionOrder == ["global", "client", " client.admin ", "client.foo"])
    }

    @Test func continuationJoinsLines() throws {
        let conf = try ConfFile.parse(Self.fixture)
        #expect(conf.value(section: "global", key: "some_thing") == "a   b")
    }

    @Test func backslashEscapesCommentCharacter() throws {
        let conf = try ConfFile.parse(Self.fixture)
        #expect(conf.value(section: "global", key: "esc") == "a#b")
    }

    @Test func lastDuplicateWinsAndSectionsMerge() throws {
        let conf = try ConfFile.parse(Self.fixture)
        #expect(conf.value(section: "client.foo", key: "rbd_cache_size") == "301")
        #expect(conf.value(section: "global", key: "merged") == "yes")
        #expect(conf.value(section: "global", key: "mon_host") == "1.2.3.4")
    }

    @Test func headingIsVerbatim() throws {
        let conf = try ConfFile.parse(Self.fixture)
        #expect(conf.sections["client.admin"] == nil)
        #expect(conf.value(section: " client.admin ", key: "rbd_cache_size") == "200")
    }

    @Test func keyNormalisation() {
        #expect(ConfFile.normalizeKey("  rbd   cache\tsize ") == "rbd_cache_size")
        #expect(ConfFile.normalizeKey("rbd-cache") == "rbd-cache")
    }

    @Test func crlfLineEnds() throws {
        let conf = try ConfFile.parse("[global]\r\nfoo = bar\r\n")
        #expect(conf.value(section: "global", key: "foo") == "bar")
    }

    @Test func loneKeyWithoutSectionIsGlobal() throws {
        let conf = try ConfFile.parse("rbd_cache=false\n")
        #expect(conf.value(section: "global", key: "rbd_cache") == "false")
    }

    @Test(arguments: [
        ("[global]\nkeyring = \"/x ; y\"\n", 2),  // comment char inside quotes (ceph-conf: parse error)
        ("[global]\nfoo bar\n", 2),  // no '='
        ("[global\nfoo = bar\n", 1),  // unclosed heading
        ("[]\n", 1),  // empty heading
        ("[global]\n = bar\n", 2),  // empty key
        ("[global]\nfoo = \"bar\n", 2),  // unclosed quote
        ("[global]\nfoo = \"bar\" baz\n", 2),  // text after quote
        ("a = 1\nb = 2\n[global]\n", 2),  // options outside a section
        ("[global] x = 1\n", 1),  // text after heading
    ])
    func malformedNamesFileAndLine(text: String, line: Int) {
        do {
            _ = try ConfFile.parse(text, origin: "/etc/ceph/test.conf")
            Issue.record("expected an error for \(text.debugDescription)")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.hasPrefix("/etc/ceph/test.conf:\(line): "), "\(error.message)")
        }
    }

    @Test func invalidUTF8NamesLine() {
        let bytes = Array("[global]\nfoo = ".utf8) + [0xff, 0xfe] + Array("\n".utf8)
        #expect(throws: RADOSError.self) { try ConfFile.parse(bytes: bytes, origin: "f") }
        do {
            _ = try ConfFile.parse(bytes: bytes, origin: "f")
        } catch {
            #expect(error.message == "f:2: invalid UTF-8")
        }
    }

    @Test func errorsDoNotEchoValues() {
        do {
            _ = try ConfFile.parse("[global]\nkey = \"AQSECRETSECRET==\n")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("SECRET"))
        }
    }
}
