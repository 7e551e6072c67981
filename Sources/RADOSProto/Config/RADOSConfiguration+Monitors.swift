extension RADOSConfiguration {
    /// The monitors to contact, each with its addresses.
    ///
    /// `MonMap::build_initial` (Pacific): `mon_host` when set; otherwise every
    /// `[mon.X]` section of the file with a `mon_addr` (`mon addr`) is one monitor.
    /// (Ceph then falls back to a DNS SRV lookup of `mon_dns_srv_name`; we do not.)
    package func monitors() throws(RADOSError) -> [[MonitorAddress]] {
        if let hosts = try string("mon_host"), !hosts.cephTrimmed().isEmpty {
            return try MonitorAddress.parseMonHost(hosts)
        }
        var result: [[MonitorAddress]] = []
        if let file {
            for section in file.sectionOrder where section.hasPrefix("mon.") {
                guard let addr = file.value(section: section, key: "mon_addr"), !addr.isEmpty else { continue }
                result += try MonitorAddress.parseMonHost(addr)
            }
        }
        guard !result.isEmpty else {
            throw RADOSError(.notFound, "no monitors configured: set mon_host (in the configuration file or with --mon-host)")
        }
        return result
    }
}
