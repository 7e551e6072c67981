import ArgumentParser
import Foundation
import RADOSProto
import RBDCache
import RBDCore

/// What the image commands (create, resize, rm, rename, snap, image-meta) share: spec
/// parsing, rbd's size arguments, and rbd's way of reporting a failed action.
enum ImageCommandSupport {
    /// Parses `pool/[ns/]image[@snap]` or `rbd:…`; a bad spec prints one line and exits
    /// with EINVAL.
    static func parseSpec(_ text: String) throws -> ImageSpec {
        do {
            return try ImageSpec.parse(text)
        } catch {
            ErrorReport.print(error.message, errno: error.errno)
            throw ExitCode(error.errno)
        }
    }

    /// Connects with the spec's options applied, opens the spec's pool and namespace,
    /// and runs `body`. A failure prints the error's message and, like `rbd`,
    /// `rbdctl: <failure>: (<errno>) <strerror>` (e.g. "create error"), and exits with
    /// the errno.
    static func run(
        _ failure: String, spec: ImageSpec, cluster: ClusterOptions,
        _ body: (RADOSClient, IOContext, RADOSConfiguration) async throws -> Void
    ) async throws {
        do {
            let configuration = try cluster.configuration(for: spec)
            let client = try await RADOSClient.connectReportingHunts(configuration)
            do {
                let io = try await client.ioContext(pool: spec.pool, namespace: spec.namespace)
                try await body(client, io, configuration)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        } catch let error as RADOSError {
            report(error, failure: failure)
            throw ExitCode(error.errno)
        }
    }

    /// Opens image `name`, runs `body` on it and closes it, whether `body` succeeded or
    /// not: an image left open keeps its header watched, and `rbd rm` refuses it until
    /// the watch times out.
    static func withImage<T>(_ io: IOContext, name: String, snapshot: String? = nil, readOnly: Bool = false, cache: CachePolicy = .disabled, scheduler: IOScheduler = .none, encryption: EncryptionOptions? = nil, _ body: (Image) async throws -> T) async throws -> T {
        let image = try await Image.open(io, name: name, snapshot: snapshot, readOnly: readOnly, cache: cache, scheduler: scheduler)
        let result: T
        do {
            try await encryption?.load(image)
            result = try await body(image)
        } catch {
            try? await image.close()
            throw error
        }
        try await image.close()
        return result
    }

    /// Prints `error` in one line (``ErrorReport``): the verb, what happened, the errno's
    /// name; `failure` (rbd's words for it, e.g. "create error") stands in for the verb
    /// when that is unknown.
    static func report(_ error: RADOSError, failure: String) {
        ErrorReport.print(error.message, errno: error.errno, fallback: failure)
    }

    /// Fails the command with rbd's one-line usage error (exit 22, EINVAL).
    static func usage(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("rbdctl: \(message)\n".utf8))
        return ExitCode(22)
    }

    /// Fails the command because an option's value cannot be used, as rbd's argument
    /// parser does ("the argument for option '--size' is invalid", exit 1), naming the
    /// value given.
    static func invalid(_ value: String, for option: String) -> ExitCode {
        FileHandle.standardError.write(Data("rbdctl: the argument ('\(value)') for option '\(option)' is invalid\n".utf8))
        return ExitCode(1)
    }

    /// Refuses a disk format other than raw (`-f`, as qemu-img's create, resize and info
    /// take it): an rbd image holds the guest's bytes as they are.
    static func requireRaw(_ format: String?) throws {
        if let format, format != "raw" { throw usage("rbd images are raw: -f \(format) is not supported here (convert reads qcow2 files)") }
    }

    /// The size a create or resize was given: `--size` (rbd's, MiB by default), or after
    /// the image name in qemu-img's form (left as text: resize allows a sign).
    enum SizeArgument {
        case rbd(UInt64)
        case qemu(String)
    }

    /// Exactly one of `--size` and a size after the image name; `--size` parsed.
    static func sizeArgument(option: String?, positional: String?) throws -> SizeArgument {
        switch (option, positional) {
        case (nil, nil): throw usage("must specify --size <M/G/T>")
        case (.some, .some): throw usage("the size was given twice (--size and after the image name)")
        case (let text?, nil):
            guard let value = parseBytes(text, defaultUnit: 1 << 20) else { throw invalid(text, for: "--size") }
            return .rbd(value)
        case (nil, let text?): return .qemu(text)
        }
    }

    /// A size as qemu-img takes it (`qemu_strtosz`): bytes, or a number (decimals
    /// allowed) with a unit B, K, M, G, T, P or E in powers of 1024.
    static func parseQemuSize(_ text: String) -> UInt64? {
        var number = Substring(text)
        var shift = 0
        if let last = number.last, !last.isNumber {
            guard let unit = ["B": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60][String(last).uppercased()] else { return nil }
            shift = unit
            number = number.dropLast()
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }), let integer = UInt64(whole) else { return nil }
        let (scaled, overflow) = integer.multipliedReportingOverflow(by: UInt64(1) << UInt64(shift))
        guard !overflow else { return nil }
        guard parts.count == 2 else { return scaled }
        // A fraction needs a unit and digits; the result is rounded down to a byte.
        let fraction = parts[1]
        guard shift > 0, !fraction.isEmpty, fraction.count <= 15, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), let digits = UInt64(fraction) else { return nil }
        var denominator: UInt64 = 1
        for _ in 0..<fraction.count { denominator *= 10 }
        let extra = (Double(digits) / Double(denominator)) * Double(UInt64(1) << UInt64(shift))
        let (total, overflowed) = scaled.addingReportingOverflow(UInt64(extra))
        return overflowed ? nil : total
    }

    /// The spec's snapshot name; rbd's usage error when there is none.
    static func snapshotName(_ spec: ImageSpec) throws -> String {
        guard let name = spec.snapshot, !name.isEmpty else { throw usage("snapshot name was not specified") }
        return name
    }

    /// Refuses a snapshot in a spec that names only an image.
    static func requireNoSnapshot(_ spec: ImageSpec) throws {
        if spec.snapshot != nil { throw usage("snapshot name specified for a command that doesn't use it") }
    }

    /// Rows as rbd's `TextTable` prints them: each column as wide as its widest cell,
    /// columns two spaces apart, every cell padded (right-aligned where asked).
    /// `leftAlignedHeaders`: headers stay left even over right-aligned cells, as rbd's
    /// `TextTable` columns defined LEFT, RIGHT print them (`rbd ls -l`).
    static func table(_ headers: [String], _ rows: [[String]], rightAligned: Set<Int> = [], leftAlignedHeaders: Bool = false) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String], right: Set<Int>) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return right.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ") + "\n"
        }
        return line(headers, right: leftAlignedHeaders ? [] : rightAligned) + rows.map { line($0, right: rightAligned) }.joined()
    }

    /// A byte count as rbd's options take it (`strict_iecstrtoll`, `src/common/strtol.cc`):
    /// digits, then an optional unit B, K, M, G, T, P or E (powers of 1024), optionally
    /// followed by "i" and/or "B". With no unit the value is in `defaultUnit`
    /// (`--size` counts MiB, `rbd/ArgumentTypes.cc`).
    static func parseBytes(_ text: String, defaultUnit: UInt64 = 1) -> UInt64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = UInt64(digits) else { return nil }
        var unit = text.dropFirst(digits.count)
        var multiplier = defaultUnit
        if let first = unit.first {
            guard let shift = ["B": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60][String(first).uppercased()] else { return nil }
            multiplier = UInt64(1) << UInt64(shift)
            unit = unit.dropFirst()
            if first.uppercased() != "B" {
                if unit.first == "i" { unit = unit.dropFirst() }
                if unit.first == "B" { unit = unit.dropFirst() }
            }
            guard unit.isEmpty else { return nil }
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}

/// `--no-progress`, which rbd takes on every command: commands that show progress on a
/// terminal (rm, flatten, trash rm, …) stop showing it; the others accept it, so scripts
/// written for rbd keep working.
struct ProgressOptions: ParsableArguments {
    @Flag(name: .customLong("no-progress"), help: "Do not print progress.") var noProgress = false
}

/// `rbdctl create --size SIZE SPEC`: a new format 2 image, like `rbd create`; also in
/// qemu-img's order, `rbdctl create -f raw rbd:data/foo 10G` (a size after the name counts
/// bytes unless it has a unit, as qemu-img's does).
struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a format 2 image, like rbd create (or qemu-img create).",
        discussion: """
        Examples:
          rbdctl create --size 10G rbd/foo
          rbdctl create -f raw rbd:data/foo 10G
        """
    )

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @Argument(help: "Size in qemu-img's form (bytes, or with a unit K/M/G/T), instead of --size.") var positionalSize: String?
    @Option(name: [.customShort("s"), .customLong("size")], parsing: .unconditional, help: "Image size (MiB unless a unit M/G/T is given).") var size: String?
    @Option(name: .customShort("f"), help: "Disk format, as qemu-img takes it (rbd images are raw).") var diskFormat: String?
    @OptionGroup var layout: ImageLayoutOptions
    @Option(name: .customLong("image-format"), help: "Image format (only 2).") var imageFormat: Int = 2
    @OptionGroup var progress: ProgressOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        guard imageFormat == 2 else { throw ImageCommandSupport.usage("only image format 2 is supported") }
        try ImageCommandSupport.requireRaw(diskFormat)
        let bytes: UInt64
        switch try ImageCommandSupport.sizeArgument(option: size, positional: positionalSize) {
        case .rbd(let value): bytes = value
        case .qemu(let text):
            guard let value = ImageCommandSupport.parseQemuSize(text) else {
                throw ImageCommandSupport.usage("invalid image size '\(text)': give bytes, or a number with K, M, G, T, P or E")
            }
            bytes = value
        }
        let requested = try layout.createOptions()
        try await ImageCommandSupport.run("create error", spec: spec, cluster: cluster) { client, io, configuration in
            let options = try await layout.resolve(requested, client: client, configuration: configuration)
            try await Image.create(io, name: spec.image, size: bytes, options: options)
        }
    }

}

/// The layout and feature options `rbd create` and `rbd import` share.
struct ImageLayoutOptions: ParsableArguments {
    @Option(help: "Object order, 12…25.") var order: UInt8?
    @Option(name: .customLong("object-size"), help: "Object size in bytes (B/K/M; rounded to the nearest power of two, 4K...32M).") var objectSize: String?
    @Option(name: .customLong("stripe-unit"), help: "Stripe unit in bytes (B/K/M).") var stripeUnit: String?
    @Option(name: .customLong("stripe-count"), help: "Objects per stripe.") var stripeCount: UInt64?
    @Option(name: .customLong("image-feature"), help: "Image feature to enable (repeatable, or comma-separated).") var imageFeatures: [String] = []
    @Option(name: .customLong("data-pool"), help: "Pool for the data objects.") var dataPool: String?

    /// The options as given, checked the way rbd checks them (usage errors).
    func createOptions() throws -> ImageCreateOptions {
        if let order, !(12...25).contains(order) { throw ImageCommandSupport.invalid(String(order), for: "--order") }
        var options = ImageCreateOptions(order: order)
        if let objectSize {
            // As rbd (`src/tools/rbd/ArgumentTypes.cc`): the nearest power of two, so
            // 3M means 4 MiB objects; one that is out of range fails at create (EDOM).
            guard let value = ImageCommandSupport.parseBytes(objectSize), value > 0 else {
                throw ImageCommandSupport.invalid(objectSize, for: "--object-size")
            }
            options.order = UInt8(min(63, max(0, log2(Double(value)).rounded())))
        }
        if let stripeUnit {
            guard let value = ImageCommandSupport.parseBytes(stripeUnit) else {
                throw ImageCommandSupport.invalid(stripeUnit, for: "--stripe-unit")
            }
            options.stripeUnit = value
        }
        options.stripeCount = stripeCount ?? 0
        if !imageFeatures.isEmpty {
            var features: RBDFeatures = []
            for text in imageFeatures {
                guard let parsed = RBDFeatures(parsing: text), parsed.isSubset(of: .userSettable) else {
                    throw ImageCommandSupport.invalid(text, for: "--image-feature")
                }
                features.formUnion(parsed)
            }
            options.features = features
        }
        return options
    }

    /// `options` completed from the cluster: `rbd_default_features` when no feature was
    /// given, and the data pool's id.
    /// `inheritDefaults` false leaves unset features unset (a copy takes its source's).
    func resolve(_ options: ImageCreateOptions, client: RADOSClient, configuration: RADOSConfiguration, inheritDefaults: Bool = true) async throws -> ImageCreateOptions {
        var options = options
        if inheritDefaults, options.features == nil, let text = try configuration.string("rbd_default_features") {
            guard let features = RBDFeatures(parsing: text) else {
                throw RADOSError(.invalidConfiguration, "rbd_default_features '\(text)' is not a feature list")
            }
            options.features = features
        }
        if let dataPool {
            guard let id = await client.poolID(named: dataPool) else {
                throw RADOSError(.notFound, "data pool \(dataPool) does not exist", errno: 2)
            }
            options.dataPoolID = id
        }
        return options
    }
}
