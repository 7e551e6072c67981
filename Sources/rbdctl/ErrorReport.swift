#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import RADOSProto

/// How rbdctl reports a failure: one line, `rbdctl: <verb>: <what happened> (<ERRNO>)`
/// on stderr (`rbdctl: snap create: snapshot monday of image vm1 already exists
/// (EEXIST)`), and the errno as the exit status, as `rbd` exits.
enum ErrorReport {
    /// The verb being run (`snap create`), set once at start-up from the command line.
    nonisolated(unsafe) static var verb = ""

    /// The leading words of `arguments` that name commands of `root` (and their
    /// subcommands, aliases included): the verb path.
    static func verbPath(_ arguments: [String], root: any ParsableCommand.Type) -> String {
        var path: [String] = []
        var commands = subcommands(of: root)
        for word in arguments {
            guard let next = commands.first(where: { $0.names.contains(word) }) else { break }
            path.append(next.names[0])
            commands = subcommands(of: next.type)
        }
        return path.joined(separator: " ")
    }

    /// A command's subcommands by their names (its name first, then its aliases).
    static func subcommands(of type: any ParsableCommand.Type) -> [(names: [String], type: any ParsableCommand.Type)] {
        type.configuration.subcommands.map { sub in
            ([sub.configuration.commandName ?? String(describing: sub).lowercased()] + sub.configuration.aliases, sub)
        }
    }

    /// `rbdctl: <verb>: <message> (<ERRNO>)`; `fallback` names the failure when the verb
    /// is not known.
    static func line(_ message: String, errno: Int32, fallback: String = "") -> String {
        let verb = Self.verb.isEmpty ? fallback : Self.verb
        return "rbdctl: \(verb.isEmpty ? "" : verb + ": ")\(message) (\(name(errno)))\n"
    }

    static func print(_ message: String, errno: Int32, fallback: String = "") {
        FileHandle.standardError.write(Data(line(message, errno: errno, fallback: fallback).utf8))
    }

    /// The symbolic name of an errno (Linux values), or its number.
    static func name(_ errno: Int32) -> String {
        names[errno] ?? "errno \(errno)"
    }

    static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 9: "EBADF", 11: "EAGAIN",
        12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR",
        21: "EISDIR", 22: "EINVAL", 24: "EMFILE", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS", 31: "EMLINK", 32: "EPIPE",
        33: "EDOM", 34: "ERANGE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 61: "ENODATA", 71: "EPROTO",
        74: "EBADMSG", 75: "EOVERFLOW", 85: "ERESTART", 95: "EOPNOTSUPP", 103: "ECONNABORTED", 104: "ECONNRESET",
        107: "ENOTCONN", 108: "ESHUTDOWN (blocklisted)", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH",
        116: "ESTALE", 117: "EUCLEAN", 122: "EDQUOT", 125: "ECANCELED",
    ]
}
