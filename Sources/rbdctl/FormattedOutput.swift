import ArgumentParser
import Foundation

/// What rbd's `--format` prints, built once and rendered as Ceph's formatters render it
/// (`src/common/Formatter.cc`): JSON compact or `--pretty-format` (4-space indent), or
/// XML, where a section's name becomes its element (so arrays keep their items' names,
/// which JSON drops). Keys stay in the order given, as Ceph's formatters keep them.
indirect enum Formatted {
    case object(String, [(String, Formatted)])
    case array(String, [Formatted])
    case string(String)
    case signed(Int64)
    case uint(UInt64)
    case bool(Bool)
    /// An array item dumped under a name (`dump_string("name", …)` in an array
    /// section): JSON shows the value, XML the name as its element.
    case named(String, Formatted)

    /// Any integer, as Ceph dumps it.
    static func int<T: BinaryInteger>(_ value: T) -> Formatted {
        value < 0 ? .signed(Int64(value)) : .uint(UInt64(value))
    }

    /// Compact or pretty JSON, with a final newline.
    func json(pretty: Bool) -> String {
        var out = ""
        renderJSON(into: &out, pretty: pretty, depth: 0)
        return out + "\n"
    }

    /// XML (Ceph's XMLFormatter: one-space indent when pretty), with a final newline.
    func xml(pretty: Bool) -> String {
        var out = ""
        renderXML(name: nil, into: &out, pretty: pretty, depth: 0)
        return out + "\n"
    }

    private func renderJSON(into out: inout String, pretty: Bool, depth: Int) {
        let indent = pretty ? String(repeating: "    ", count: depth + 1) : ""
        let closing = pretty ? String(repeating: "    ", count: depth) : ""
        switch self {
        case .named(_, let value): value.renderJSON(into: &out, pretty: pretty, depth: depth)
        case .string(let text): out += Self.quoted(text)
        case .signed(let value): out += String(value)
        case .uint(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .object(_, let members):
            guard !members.isEmpty else { out += "{}"; return }
            out += pretty ? "{\n" : "{"
            for (index, (key, value)) in members.enumerated() {
                out += indent + Self.quoted(key) + (pretty ? ": " : ":")
                value.renderJSON(into: &out, pretty: pretty, depth: depth + 1)
                out += index + 1 < members.count ? (pretty ? ",\n" : ",") : (pretty ? "\n" : "")
            }
            out += closing + "}"
        case .array(_, let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += pretty ? "[\n" : "["
            for (index, item) in items.enumerated() {
                out += indent
                item.renderJSON(into: &out, pretty: pretty, depth: depth + 1)
                out += index + 1 < items.count ? (pretty ? ",\n" : ",") : (pretty ? "\n" : "")
            }
            out += closing + "]"
        }
    }

    private func renderXML(name: String?, into out: inout String, pretty: Bool, depth: Int) {
        let indent = pretty ? String(repeating: " ", count: depth) : ""
        let newline = pretty ? "\n" : ""
        switch self {
        case .named(let element, let value):
            value.renderXML(name: element, into: &out, pretty: pretty, depth: depth)
        case .string, .signed, .uint, .bool:
            let element = name ?? "value"
            out += "\(indent)<\(element)>\(Self.escapedXML(scalarText))</\(element)>\(newline)"
        case .object(let section, let members):
            let element = name ?? section
            out += "\(indent)<\(element)>\(newline)"
            for (key, value) in members { value.renderXML(name: key, into: &out, pretty: pretty, depth: depth + 1) }
            out += "\(indent)</\(element)>\(newline)"
        case .array(let section, let items):
            let element = name ?? section
            out += "\(indent)<\(element)>\(newline)"
            for item in items { item.renderXML(name: nil, into: &out, pretty: pretty, depth: depth + 1) }
            out += "\(indent)</\(element)>\(newline)"
        }
    }

    private var scalarText: String {
        switch self {
        case .string(let text): text
        case .signed(let value): String(value)
        case .uint(let value): String(value)
        case .bool(let value): value ? "true" : "false"
        case .object, .array: ""
        case .named(_, let value): value.scalarText
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func escapedXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// rbd's `--format plain|json|xml` and `--pretty-format`.
struct FormatOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case plain, text, json, xml
    }

    @Option(help: "Output format: plain, json or xml.") var format: Kind = .plain
    @Flag(name: .customLong("pretty-format"), help: "Pretty formatting (json and xml).") var pretty = false

    var isPlain: Bool { format == .plain || format == .text }

    /// `value` in the chosen structured format; nil for plain text.
    func render(_ value: Formatted) -> String? {
        switch format {
        case .plain, .text: nil
        case .json: value.json(pretty: pretty)
        case .xml: value.xml(pretty: pretty)
        }
    }
}
