import RADOSProto

/// The name of an RBD image, in QEMU's `rbd:` form or the `rbd` CLI's plain form.
///
/// QEMU (`block/rbd.c`, `qemu_rbd_parse_filename`):
/// `rbd:pool/[namespace/]image[@snap][:key=value[:key=value...]]`. A backslash makes
/// the next character literal, so `/`, `@`, `:`, `=` and `\` can appear in names and
/// values as `\/`, `\@`, `\:`, `\=`, `\\`. The option `conf` names a configuration
/// file, `id` the user; every other key is a Ceph option (`rbd_cache=false`). Options
/// keep their order; the last of a repeated key wins.
///
/// The plain form the `rbd` CLI takes is `[pool/[namespace/]]image[@snap]`; the pool
/// defaults to `rbd` (`rbd_default_pool`). Backslash escapes work there too.
///
/// Unlike QEMU we reject what it would pass on silently: an empty pool, namespace,
/// image or snapshot, a dangling backslash, an option without `=` or with an empty key,
/// and a `/` too many.
public struct ImageSpec: Sendable, Hashable, CustomStringConvertible {
    /// One `key=value` option of an `rbd:` name.
    public struct Option: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The pool name.
    public var pool: String
    /// The RADOS namespace; empty for the default one.
    public var namespace: String
    /// The image name.
    public var image: String
    /// The snapshot to open read-only, if any.
    public var snapshot: String?
    /// The `key=value` options, in order (including `conf` and `id`).
    public var options: [Option]

    public init(pool: String = "rbd", namespace: String = "", image: String, snapshot: String? = nil, options: [Option] = []) {
        self.pool = pool
        self.namespace = namespace
        self.image = image
        self.snapshot = snapshot
        self.options = options
    }

    /// The pool used when the plain form names none (`rbd_default_pool`).
    public static let defaultPool = "rbd"

    /// `conf=`: the configuration file to read (the last one given).
    public var configFile: String? { options.last(where: { $0.key == "conf" })?.value }
    /// `id=`: the user (`client.<id>`), the last one given.
    public var user: String? { options.last(where: { $0.key == "id" })?.value }
    /// The options that are Ceph options (all but `conf` and `id`), in order.
    public var cephOptions: [Option] { options.filter { $0.key != "conf" && $0.key != "id" } }

    /// `rbd:pool/[ns/]image[@snap][:k=v...]`, escaping delimiters, so `parse` gives it back.
    public var description: String { format() }

    /// The `rbd:` form, escaping `\ / @ : =` in every part.
    public func format() -> String {
        var out = "rbd:" + ImageSpec.escape(pool) + "/"
        if !namespace.isEmpty { out += ImageSpec.escape(namespace) + "/" }
        out += ImageSpec.escape(image)
        if let snapshot { out += "@" + ImageSpec.escape(snapshot) }
        for option in options {
            out += ":" + ImageSpec.escape(option.key) + "=" + ImageSpec.escape(option.value)
        }
        return out
    }

    /// The plain `pool/[ns/]image[@snap]` form (`rbd` CLI); options are not part of it.
    public func formatPlain() -> String {
        var out = ImageSpec.escape(pool) + "/"
        if !namespace.isEmpty { out += ImageSpec.escape(namespace) + "/" }
        out += ImageSpec.escape(image)
        if let snapshot { out += "@" + ImageSpec.escape(snapshot) }
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if c == "\\" || c == "/" || c == "@" || c == ":" || c == "=" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
