import Testing
@testable import RADOSProto

@Suite struct MonitorAddressTests {
    typealias M = MonitorAddress

    @Test func bareAddressMeansBothProtocols() throws {
        #expect(try M.parseMonHost("1.2.3.4") == [[M(kind: .v2, host: "1.2.3.4", port: 3300), M(kind: .v1, host: "1.2.3.4", port: 6789)]])
    }

    @Test func wellKnownPortsPickTheProtocol() throws {
        #expect(try M.parseMonHost("1.2.3.4:6789") == [[M(kind: .v1, host: "1.2.3.4", port: 6789)]])
        #expect(try M.parseMonHost("1.2.3.4:3300") == [[M(kind: .v2, host: "1.2.3.4", port: 3300)]])
        #expect(try M.parseMonHost("1.2.3.4:7000") == [[M(kind: .any, host: "1.2.3.4", port: 7000)]])
    }

    @Test func prefixedAddressesGetDefaultPorts() throws {
        #expect(try M.parseMonHost("v2:1.2.3.4") == [[M(kind: .v2, host: "1.2.3.4", port: 3300)]])
        #expect(try M.parseMonHost("v1:1.2.3.4") == [[M(kind: .v1, host: "1.2.3.4", port: 6789)]])
    }

    @Test func addressVector() throws {
        #expect(try M.parseMonHost("[v2:1.2.3.4:3300,v1:1.2.3.4:6789]")
            == [[M(kind: .v2, host: "1.2.3.4", port: 3300), M(kind: .v1, host: "1.2.3.4", port: 6789)]])
    }

    @Test func listsWithEverySeparator() throws {
        let mons = try M.parseMonHost("[v2:10.0.0.1:3300,v1:10.0.0.1:6789], 10.0.0.2:6789;10.0.0.3:3300 mon4.example.com")
        #expect(mons.count == 4)
        #expect(mons[1] == [M(kind: .v1, host: "10.0.0.2", port: 6789)])
        #expect(mons[2] == [M(kind: .v2, host: "10.0.0.3", port: 3300)])
        #expect(mons[3].map(\.host) == ["mon4.example.com", "mon4.example.com"])
    }

    @Test func ipv6() throws {
        #expect(try M.parseMonHost("[::1]:6789") == [[M(kind: .v1, host: "::1", port: 6789)]])
        #expect(try M.parseMonHost("[v2:[fe80::1]:3300,v1:[fe80::1]:6789]")
            == [[M(kind: .v2, host: "fe80::1", port: 3300), M(kind: .v1, host: "fe80::1", port: 6789)]])
        #expect(try M.parseMonHost("[2001:db8::5]") == [[M(kind: .v2, host: "2001:db8::5", port: 3300), M(kind: .v1, host: "2001:db8::5", port: 6789)]])
        #expect(M(kind: .v1, host: "::1", port: 6789).description == "v1:[::1]:6789")
    }

    @Test(arguments: ["1.2.3.4:99999", "1.2.3.4:0", "[v2:1.2.3.4:3300", "1.2.3.4:abc", "[]", "ho$t", "[::1"])
    func malformed(text: String) {
        #expect(throws: RADOSError.self) { try M.parseMonHost(text) }
    }

    @Test func emptyIsNoMonitors() throws {
        #expect(try M.parseMonHost("  ,; ").isEmpty)
    }
}
