import ArgumentParser
import Foundation
import NIOCore
import RADOSProto

// `rbdctl rados` xattr and omap commands, printing what `rados` prints (values as
// Ceph's `bufferlist::hexdump`) and failing with its messages and exit code 1.

/// `bufferlist::hexdump` (ceph/ceph `src/common/buffer.cc`): 16 bytes a line, offset in
/// 8 hex digits, two groups of eight, printable characters between bars; a line equal
/// to the one before (but never the last) collapses into one `*`; then the length.
/// Nothing at all for an empty buffer.
func cephHexdump(_ bytes: [UInt8]) -> String {
    guard !bytes.isEmpty else { return "" }
    var text = ""
    var previousSame = false
    var offset = 0
    func hex(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    while offset < bytes.count {
        let end = min(offset + 16, bytes.count)
        if offset > 0, offset + 16 < bytes.count, bytes[offset..<end].elementsEqual(bytes[(offset - 16)..<offset]) {
            if !previousSame { text += "*\n" }
            previousSame = true
            offset += 16
            continue
        }
        previousSame = false
        text += hex(offset, width: 8) + " "
        for index in 0..<16 {
            if index == 8 { text += " " }
            text += offset + index < end ? " " + hex(Int(bytes[offset + index]), width: 2) : "   "
        }
        text += "  |"
        for byte in bytes[offset..<end] {
            text += (0x20...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "."
        }
        text += "|\n"
        offset += 16
    }
    text += hex(bytes.count, width: 8) + "\n"
    return text
}

/// Writes `text` to standard output as is.
private func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes `buffer` to `file`, saying so on standard error, as rados does.
private func writeOut(_ buffer: ByteBuffer, to file: String) throws {
    FileHandle.standardError.write(Data("Writing to \(file)\n".utf8))
    try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: file))
}

struct RadosListXattr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listxattr", abstract: "List an object's extended attributes.", discussion: "Example:\n  rbdctl rados listxattr -p rbd greeting")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("getting xattr set", object: object) { io in
            let names = try await io.xattrs(object).keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            emit(names.map { $0 + "\n" }.joined())
        }
    }
}

struct RadosGetXattr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "getxattr", abstract: "Print an extended attribute's value.", discussion: "Example:\n  rbdctl rados getxattr -p rbd greeting lang")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var name: String

    func run() async throws {
        try await options.run("getting xattr", object: "\(object)/\(name)") { io in
            let value = try await io.getXattr(object, name: name)
            FileHandle.standardOutput.write(Data(value.readableBytesView))
        }
    }
}

struct RadosSetXattr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setxattr", abstract: "Set an extended attribute (value from the argument or stdin).", discussion: "Example:\n  rbdctl rados setxattr -p rbd greeting lang en")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var name: String
    @Argument var value: String?

    func run() async throws {
        let bytes = value.map { Data($0.utf8) } ?? FileHandle.standardInput.readDataToEndOfFile()
        try await options.run("setting xattr", object: "\(object)/\(name)") { io in
            try await io.setXattr(object, name: name, value: ByteBuffer(bytes: bytes))
        }
    }
}

struct RadosRemoveXattr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmxattr", abstract: "Remove an extended attribute.", discussion: "Example:\n  rbdctl rados rmxattr -p rbd greeting lang")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var name: String

    func run() async throws {
        try await options.run("removing xattr", object: "\(object)/\(name)") { io in
            try await io.removeXattr(object, name: name)
        }
    }
}

struct RadosListOmapKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listomapkeys", abstract: "List the keys in an object's omap.", discussion: "Example:\n  rbdctl rados listomapkeys -p rbd rbd_directory")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("getting omap key set", object: object) { io in
            var after = ""
            while true {
                let (keys, more) = try await io.omapKeys(object, startAfter: after)
                emit(keys.map { $0 + "\n" }.joined())
                guard more, let last = keys.last else { break }
                after = last
            }
        }
    }
}

struct RadosListOmapValues: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listomapvals", abstract: "List the keys and values in an object's omap.", discussion: "Example:\n  rbdctl rados listomapvals -p rbd rbd_directory")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("getting omap keys", object: object) { io in
            let values = try await io.omapAll(object)
            for key in values.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                let bytes = Array(values[key]?.readableBytesView ?? ByteBuffer().readableBytesView)
                emit("\(key)\nvalue (\(bytes.count) bytes) :\n\(cephHexdump(bytes))\n")
            }
        }
    }
}

struct RadosGetOmapValue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "getomapval", abstract: "Show the value of one omap key (or write it to a file).", discussion: "Example:\n  rbdctl rados getomapval -p rbd rbd_directory name_vm1")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var key: String
    @Argument var file: String?

    func run() async throws {
        let options = self.options
        try await options.run("getting omap value", object: "\(object)/\(key)") { io in
            guard let value = try await io.omapGet(object, keys: [key])[key] else {
                emit("No such key: \(options.pool)/\(object)/\(key)\n")
                throw ExitCode(1)
            }
            if let file {
                try writeOut(value, to: file)
            } else {
                let bytes = Array(value.readableBytesView)
                emit("value (\(bytes.count) bytes) :\n\(cephHexdump(bytes))\n")
            }
        }
    }
}

struct RadosSetOmapValue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setomapval", abstract: "Set an omap key (value from the argument or stdin).", discussion: "Example:\n  rbdctl rados setomapval -p rbd notes k v")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var key: String
    @Argument var value: String?

    func run() async throws {
        let bytes = value.map { Data($0.utf8) } ?? FileHandle.standardInput.readDataToEndOfFile()
        try await options.run("setting omap value", object: "\(object)/\(key)") { io in
            try await io.omapSet(object, [key: ByteBuffer(bytes: bytes)])
        }
    }
}

struct RadosRemoveOmapKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmomapkey", abstract: "Remove an omap key.", discussion: "Example:\n  rbdctl rados rmomapkey -p rbd notes k")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var key: String

    func run() async throws {
        try await options.run("removing omap key", object: "\(object)/\(key)") { io in
            try await io.omapRemove(object, keys: [key])
        }
    }
}

struct RadosClearOmap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clearomap", abstract: "Remove every omap key of the objects.", discussion: "Example:\n  rbdctl rados clearomap -p rbd notes")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var objects: [String]

    func run() async throws {
        let options = self.options
        try await options.run("clearing omap keys", object: objects.first ?? "") { io in
            for object in objects {
                do {
                    try await io.omapClear(object)
                } catch let error as RADOSError {
                    // rados prints this one without the usual ": " after the object.
                    FileHandle.standardError.write(Data("error clearing omap keys \(options.pool)/\(object)/(\(error.errno)) \(String(cString: strerror(error.errno)))\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
    }
}

struct RadosGetOmapHeader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "getomapheader", abstract: "Show an object's omap header (or write it to a file).", discussion: "Example:\n  rbdctl rados getomapheader -p rbd notes")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var file: String?

    func run() async throws {
        try await options.run("getting omap header", object: object) { io in
            let header = try await io.omapHeader(object)
            if let file {
                try writeOut(header, to: file)
            } else {
                let bytes = Array(header.readableBytesView)
                emit("header (\(bytes.count) bytes) :\n\(cephHexdump(bytes))\n")
            }
        }
    }
}

struct RadosSetOmapHeader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setomapheader", abstract: "Set an object's omap header.", discussion: "Example:\n  rbdctl rados setomapheader -p rbd notes header")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String
    @Argument var value: String

    func run() async throws {
        try await options.run("setting omap header", object: object) { io in
            try await io.setOmapHeader(object, ByteBuffer(string: value))
        }
    }
}

struct RadosListWatchers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "listwatchers", abstract: "List the watchers of an object.", discussion: "Example:\n  rbdctl rados listwatchers -p rbd rbd_header.10276b8b4567")
    @ParentCommand var parent: RadosCommand
    @OptionGroup var local: RadosOptions
    var options: RadosOptions { local.merged(with: parent.options) }
    @Argument var object: String

    func run() async throws {
        try await options.run("listing watchers", object: object) { io in
            for watcher in try await io.watchers(object) {
                emit("watcher=\(watcher.address) client.\(watcher.gid) cookie=\(watcher.cookie)\n")
            }
        }
    }
}
