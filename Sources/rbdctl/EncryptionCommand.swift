import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl encryption format SPEC luks1|luks2 PASSPHRASE-FILE [--cipher-alg aes-128|aes-256]`,
/// like `rbd encryption format` (ceph/ceph `src/tools/rbd/action/Encryption.cc`).
struct EncryptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encryption", abstract: "Encrypt images with LUKS, like rbd encryption.",
        subcommands: [EncryptionFormatCommand.self])
}

struct EncryptionFormatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "format", abstract: "Write a LUKS1 or LUKS2 header with a new key to an image, like rbd encryption format.",
        discussion: "The data then starts after the header (4 MiB for LUKS1, 16 MiB for LUKS2 with 4 MiB objects); what the image held is lost.\nExample:\n  rbdctl encryption format rbd/vm1 luks2 passphrase.txt")

    @Argument(help: "pool/[namespace/]image or rbd:pool/image[:option=value…].") var spec: String
    @Argument(help: "Encryption format: luks1 or luks2.") var format: String
    @Argument(help: "File holding the passphrase (one trailing newline is ignored).") var passphraseFile: String
    @Option(name: .customLong("cipher-alg"), help: "Encryption algorithm: aes-128 or aes-256 (the default).") var cipherAlg = "aes-256"
    @OptionGroup var cluster: ClusterOptions

    func validate() throws {
        guard ["luks1", "luks2"].contains(format) else { throw ValidationError("unsupported encryption format \(format) (luks1 or luks2)") }
        guard ["aes-128", "aes-256"].contains(cipherAlg) else { throw ValidationError("unsupported cipher algorithm \(cipherAlg) (aes-128 or aes-256)") }
    }

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try ImageCommandSupport.requireNoSnapshot(spec)
        try await ImageCommandSupport.run("encryption format error", spec: spec, cluster: cluster) { _, io, _ in
            let passphrase = try EncryptionOptions.readPassphrase(passphraseFile)
            try await ImageCommandSupport.withImage(io, name: spec.image) { image in
                try await image.encryptionFormat(format == "luks1" ? .luks1 : .luks2, passphrase: passphrase, algorithm: cipherAlg == "aes-128" ? .aes128 : .aes256)
            }
        }
    }
}

/// `--encryption-format luks1|luks2|luks --encryption-passphrase-file FILE` (the names
/// later Ceph releases and rbd-nbd give these options): load the image's encryption
/// before using it.
struct EncryptionOptions: ParsableArguments {
    @Option(name: .customLong("encryption-format"), help: "Load the image's encryption: luks1, luks2 or luks (either).") var format: String?
    @Option(name: .customLong("encryption-passphrase-file"), help: "File holding the passphrase for --encryption-format.") var passphraseFile: String?

    func validate() throws {
        if let format, !["luks1", "luks2", "luks"].contains(format) {
            throw ValidationError("unsupported encryption format \(format) (luks1, luks2 or luks)")
        }
        if (format == nil) != (passphraseFile == nil) {
            throw ValidationError("--encryption-format and --encryption-passphrase-file go together")
        }
    }

    /// Loads the encryption on `image` when asked to.
    func load(_ image: Image) async throws {
        guard let format, let passphraseFile else { return }
        let chosen: EncryptionFormat = format == "luks1" ? .luks1 : format == "luks2" ? .luks2 : .luks
        try await image.encryptionLoad(chosen, passphrase: try Self.readPassphrase(passphraseFile))
    }

    /// Formats a new image (import) for `--encryption-format luks1|luks2` and sizes it so
    /// that `size` bytes follow the header; nothing without the options.
    func format(_ image: Image, holding size: UInt64) async throws {
        guard let format, let passphraseFile else { return }
        try await image.encryptionFormat(format == "luks1" ? .luks1 : .luks2, passphrase: try Self.readPassphrase(passphraseFile))
        let header = image.info.size - image.size
        try await image.resize(to: size + header, allowShrink: true)
    }

    /// A passphrase file's bytes less one trailing newline, as rbd reads it; refused when
    /// other users may read it.
    static func readPassphrase(_ path: String) throws(RADOSError) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            throw RADOSError(.notFound, "cannot read passphrase file \(path): \(String(cString: strerror(code)))", errno: code)
        }
        if status.st_mode & 0o004 != 0 {
            throw RADOSError(.permissionDenied, "passphrase file \(path) can be read by other users (mode 0\(String(status.st_mode & 0o777, radix: 8))); chmod 600 it", errno: 13)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RADOSError(.permissionDenied, "cannot read passphrase file \(path)", errno: 13)
        }
        var bytes = Array(data)
        if bytes.last == 0x0A { bytes.removeLast() }
        return bytes
    }
}
