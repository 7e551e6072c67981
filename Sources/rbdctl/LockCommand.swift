import ArgumentParser
import Foundation
import RADOSProto
import RBDCore

/// `rbdctl lock ls|add|rm`, like `rbd lock`: the advisory locks on an image's header
/// (lock `rbd_lock`, the cookie is the lock id), listed, taken and broken as
/// ceph/ceph `src/tools/rbd/action/Lock.cc` does through librbd's `rbd_list_lockers`,
/// `rbd_lock_exclusive`/`rbd_lock_shared` and `rbd_break_lock`.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "Image locks, like rbd lock.",
        subcommands: [LockList.self, LockAdd.self, LockRemove.self])

    /// The header object of the spec's image (the image must exist: ENOENT otherwise).
    static func header(_ io: IOContext, _ spec: ImageSpec) async throws(RADOSError) -> String {
        RBDObjectNames.header(imageID: try await ImageInfo.imageID(io, name: spec.image))
    }
}

struct LockList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show the locks held on an image.", discussion: "Example:\n  rbdctl lock ls rbd/vm1", aliases: ["ls"])

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @OptionGroup var output: FormatOptions
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        try await ImageCommandSupport.run("listing locks failed", spec: spec, cluster: cluster) { _, io, _ in
            let lockers = try await io.lockers(try await LockCommand.header(io, spec), name: ImageNotify.lockName)
            let rows = lockers.holders.map { [$0.client, $0.cookie, $0.address] }
            let formatted = Formatted.array("locks", rows.map {
                .object("lock", [("id", .string($0[1])), ("locker", .string($0[0])), ("address", .string($0[2]))])
            })
            if let text = output.render(formatted) {
                print(text, terminator: "")
                return
            }
            guard !rows.isEmpty else { return }
            let one = rows.count == 1
            var text = "There \(one ? "is" : "are") \(rows.count) \(lockers.isExclusive ? "exclusive" : "shared") lock\(one ? "" : "s") on this image.\n"
            if !lockers.isExclusive { text += "Lock tag: \(lockers.tag)\n" }
            print(text + ImageCommandSupport.table(["Locker", "ID", "Address"], rows), terminator: "")
        }
    }
}

struct LockAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Take a lock on an image (exclusive, or shared with --shared TAG).", discussion: "Example:\n  rbdctl lock add rbd/vm1 my-lock")

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Argument(help: "The lock id (its cookie).") var lockID: String?
    @Option(name: .customLong("shared"), help: "Take a shared lock under this tag.") var sharedTag: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        guard let lockID, !lockID.isEmpty else { throw ImageCommandSupport.usage("lock id was not specified") }
        let tag = sharedTag ?? ""
        try await ImageCommandSupport.run("taking lock failed", spec: spec, cluster: cluster) { _, io, _ in
            let header = try await LockCommand.header(io, spec)
            if let refused = await Self.take(io, header, lockID: lockID, sharedTag: sharedTag) {
                guard refused.errno == 16 || refused.errno == 17 else { throw refused }
                // rbd's words for a lock someone holds (Lock.cc, do_lock_add), and its errno.
                FileHandle.standardError.write(Data("rbdctl: lock is already held by someone else\(tag.isEmpty ? "" : " with a different tag")\n".utf8))
                throw ExitCode(refused.errno)
            }
        }
    }

    /// Takes the lock; the error when it was refused.
    static func take(_ io: IOContext, _ header: String, lockID: String, sharedTag: String?) async -> RADOSError? {
        do {
            if let sharedTag {
                try await io.lockShared(header, name: ImageNotify.lockName, cookie: lockID, tag: sharedTag)
            } else {
                try await io.lockExclusive(header, name: ImageNotify.lockName, cookie: lockID)
            }
            return nil
        } catch {
            return error
        }
    }
}

struct LockRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Break a lock held on an image.", discussion: "Example:\n  rbdctl lock rm rbd/vm1 my-lock client.4235", aliases: ["rm"])

    @Argument(help: "pool/[namespace/]image.") var spec: String
    @Argument(help: "The lock id (its cookie).") var lockID: String?
    @Argument(help: "The locker, as rbd lock ls names it (client.4123).") var locker: String?
    @OptionGroup var cluster: ClusterOptions

    func run() async throws {
        let spec = try ImageCommandSupport.parseSpec(self.spec)
        guard let lockID, !lockID.isEmpty else { throw ImageCommandSupport.usage("lock id was not specified") }
        guard let locker, !locker.isEmpty else { throw ImageCommandSupport.usage("locker was not specified") }
        try await ImageCommandSupport.run("releasing lock failed", spec: spec, cluster: cluster) { _, io, _ in
            try await io.breakLock(try await LockCommand.header(io, spec), name: ImageNotify.lockName, client: locker, cookie: lockID)
        }
    }
}
