/// `--pool`, `--namespace`, `--image` and `--snap` in place of an image spec, as rbd takes
/// them (`rbd info --pool rbd --image vm1 --snap before`): before parsing, they become
/// the spec argument `pool/[namespace/]image[@snap]` for the verbs that take one image.
enum SpecOptionArguments {
    /// Verbs (and verb pairs) whose one positional argument is an image spec.
    static let verbs: Set<String> = [
        "info", "resize", "rm", "remove", "flatten", "status", "du", "disk-usage", "diff", "bench", "export", "children",
        "sparsify", "create", "snap create", "snap add", "snap rm", "snap remove", "snap ls", "snap list", "snap purge",
        "snap protect", "snap unprotect", "snap rollback", "snap revert", "snap limit set", "snap limit clear",
        "lock ls", "lock list", "image-meta list", "image-meta ls", "trash mv", "trash move",
    ]

    static let names: [String: String] = ["-p": "pool", "--pool": "pool", "--namespace": "namespace", "--image": "image", "--snap": "snap"]

    /// `arguments` with the spec options folded into a spec, when `--image` is given to
    /// one of ``verbs``; unchanged otherwise.
    static func folded(_ arguments: [String]) -> [String] {
        let verb = verbs.first { candidate in
            let words = candidate.split(separator: " ").map(String.init)
            return Array(arguments.prefix(words.count)) == words
        }
        guard let verb, arguments.contains("--image") || arguments.contains(where: { $0.hasPrefix("--image=") }) else { return arguments }
        let head = verb.split(separator: " ").count
        var values: [String: String] = [:]
        var rest: [String] = []
        var index = head
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" {
                rest += arguments[index...]
                break
            }
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            if let name = names[parts[0]] {
                if parts.count == 2 {
                    values[name] = parts[1]
                } else if index + 1 < arguments.count {
                    values[name] = arguments[index + 1]
                    index += 1
                }
            } else {
                rest.append(word)
            }
            index += 1
        }
        guard let image = values["image"] else { return arguments }
        var spec = (values["pool"] ?? "rbd") + "/"
        if let namespace = values["namespace"], !namespace.isEmpty { spec += namespace + "/" }
        spec += image
        if let snap = values["snap"] { spec += "@" + snap }
        return Array(arguments.prefix(head)) + [spec] + rest
    }
}
