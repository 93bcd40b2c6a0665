import Foundation
import Yams

/// A JSON/YAML document tree, used to merge partial settings onto complete ones
/// (``MergeableSettings``).
public enum ConfigNode: Codable, Equatable, Sendable {
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigNode])
    case object([String: ConfigNode])
    case null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([ConfigNode].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: ConfigNode].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// Converts what Yams (or JSONSerialization) produced.
    public init(any: Any) {
        switch any {
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(ConfigNode.init(any:)))
        case let o as [String: Any]: self = .object(o.mapValues(ConfigNode.init(any:)))
        case let o as [AnyHashable: Any]:
            self = .object(Dictionary(uniqueKeysWithValues: o.map { ("\($0.key)", ConfigNode(any: $0.value)) }))
        default: self = any is NSNull ? .null : .string("\(any)")
        }
    }

    /// `value` nested under the keys of `path` (`["a", "b"]` → `{a: {b: value}}`).
    public init(path: [String], value: ConfigNode) {
        var node = value
        for key in path.reversed() { node = .object([key: node]) }
        self = node
    }

    /// The tree a value encodes to.
    public static func encoding<T: Encodable>(_ value: T) throws -> ConfigNode {
        try JSONDecoder().decode(ConfigNode.self, from: JSONEncoder().encode(value))
    }

    /// Decodes the value this tree describes.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self))
    }

    /// The fields of an object (empty for other nodes).
    public var fields: [String: ConfigNode] {
        if case .object(let o) = self { return o }
        return [:]
    }

    /// Parses a JSON document; a key given twice in one object is an error (as in YAML).
    public static func parse(json: String, path: String = "<json>") throws -> ConfigNode {
        if let duplicate = JSONDuplicateKeys.first(in: Array(json.utf8)) {
            throw ConfigurationError.unreadable(path: path, reason: "key '\(duplicate)' appears twice in one object")
        }
        do { return try JSONDecoder().decode(ConfigNode.self, from: Data(json.utf8)) } catch {
            throw ConfigurationError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// Parses a YAML document (an empty one is an empty mapping).
    public static func parse(yaml: String, path: String = "<yaml>") throws -> ConfigNode {
        do {
            // Yams traps on a mapping or sequence used as a key (`? {a: 1}`: a force unwrap in its
            // Constructor.swift, found by the run-config fuzz target), so keys are checked first.
            if let tree = try Yams.compose(yaml: yaml) {
                if let key = firstNonScalarKey(tree) {
                    throw ConfigurationError.unreadable(path: path, reason: "a \(key) is used as a key; keys must be plain text")
                }
                if let number = firstOverflowingSexagesimal(tree) {
                    throw ConfigurationError.unreadable(path: path, reason: "\(number) is a base-60 number too large for an integer")
                }
            }
            return ConfigNode(any: try Yams.load(yaml: yaml) ?? [String: Any]())
        } catch let error as ConfigurationError { throw error } catch {
            throw ConfigurationError.unreadable(path: path, reason: "\(error)")
        }
    }

    /// The first plain scalar that YAML 1.1 reads as a base-60 integer (`190:20:30`) too large for
    /// `Int`: Yams computes those with trapping arithmetic, so one would crash the process (found by the
    /// run-config fuzz target, reproducer `Fuzz/Seeds/run-config/crash-sexagesimal-overflow.yaml`).
    static func firstOverflowingSexagesimal(_ node: Yams.Node) -> String? {
        switch node {
        case .scalar(let scalar):
            return scalar.style == .plain && overflowsSexagesimal(scalar.string) ? scalar.string : nil
        case .mapping(let m):
            for (k, v) in m {
                if let found = firstOverflowingSexagesimal(k) ?? firstOverflowingSexagesimal(v) { return found }
            }
        case .sequence(let s):
            for v in s { if let found = firstOverflowingSexagesimal(v) { return found } }
        case .alias: break
        }
        return nil
    }

    /// Whether `text` has the shape of a sexagesimal integer whose value does not fit in `Int`.
    static func overflowsSexagesimal(_ text: String) -> Bool {
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        let isDigits = { (p: Substring) in !p.isEmpty && p.allSatisfy { $0 == "_" || ($0.isASCII && $0.isNumber) } }
        guard parts.count >= 2, parts.allSatisfy(isDigits) else { return false }
        var value = 0
        for part in parts {
            guard let digit = Int(part.filter { $0 != "_" }) else { return true }
            let (scaled, o1) = value.multipliedReportingOverflow(by: 60)
            let (sum, o2) = scaled.addingReportingOverflow(digit)
            if o1 || o2 { return true }
            value = sum
        }
        return false
    }

    /// The kind of the first mapping key that is not a scalar, if any.
    private static func firstNonScalarKey(_ node: Yams.Node) -> String? {
        switch node {
        case .mapping(let m):
            for (k, v) in m {
                switch k {
                case .scalar: break
                case .mapping: return "mapping"
                case .sequence: return "sequence"
                case .alias: return "alias"
                }
                if let found = firstNonScalarKey(v) { return found }
            }
        case .sequence(let s):
            for v in s { if let found = firstNonScalarKey(v) { return found } }
        default: break
        }
        return nil
    }

    /// Reads a file: JSON when its name ends in `.json`, YAML otherwise.
    public static func read(contentsOf url: URL) throws -> ConfigNode {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return url.pathExtension.lowercased() == "json" ? try parse(json: text, path: url.path) : try parse(yaml: text, path: url.path)
    }

    /// Splits `a.b.c=value` into its key path and its value (a YAML scalar, else the text).
    public static func parseOverride(_ override: String) throws -> (path: [String], value: ConfigNode) {
        guard let eq = override.firstIndex(of: "=") else { throw ConfigurationError.malformedOverride(override) }
        let path = override[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else { throw ConfigurationError.malformedOverride(override) }
        let text = String(override[override.index(after: eq)...])
        if !overflowsSexagesimal(text), let parsed = try? Yams.load(yaml: text), !(parsed is [String: Any]) {
            return (path, ConfigNode(any: parsed))
        }
        return (path, .string(text))
    }

    /// What a merge may do beyond overlaying known keys.
    struct MergeRules {
        /// Key components that come before the settings type's own keys (`scenario`).
        var prefix: [String] = []
        /// Maps (paths relative to the type) that accept new entries, with each entry's template.
        var openMaps: [String: ConfigNode] = [:]
        /// Open maps that accept no new entry in this merge.
        var closedMaps: Set<String> = []
    }

    /// Overlays `user` on `schema`; every key of `user` must exist in `schema`, except new
    /// entries of an open map, which are checked against its template.
    static func merge(_ user: ConfigNode, onto schema: ConfigNode, path: [String], rules: MergeRules) throws -> ConfigNode {
        let key = path.joined(separator: ".")
        switch schema {
        case .object(var fields):
            guard case .object(let given) = user else {
                throw ConfigurationError.invalidValue(key: key.isEmpty ? "<root>" : key, reason: "expected a mapping")
            }
            let local = path.dropFirst(rules.prefix.count).joined(separator: ".")
            for (k, v) in given.sorted(by: { $0.key < $1.key }) {
                if let existing = fields[k] {
                    fields[k] = try merge(v, onto: existing, path: path + [k], rules: rules)
                } else if let template = rules.openMaps[local] {
                    if rules.closedMaps.contains(local) {
                        throw ConfigurationError.unknownExpert(k, known: fields.keys.sorted())
                    }
                    fields[k] = try merge(v, onto: template, path: path + [k], rules: rules)
                } else {
                    throw ConfigurationError.unknownKey((path + [k]).joined(separator: "."))
                }
            }
            return .object(fields)
        case .bool:
            switch user {
            case .bool: return user
            case .string(let s) where ["true", "yes", "on"].contains(s.lowercased()): return .bool(true)
            case .string(let s) where ["false", "no", "off"].contains(s.lowercased()): return .bool(false)
            default: throw ConfigurationError.invalidValue(key: key, reason: "expected true or false")
            }
        case .int, .double:
            switch user {
            case .double(let d) where !d.isFinite: throw ConfigurationError.invalidValue(key: key, reason: "must be a finite number")
            case .int, .double: return user
            case .string(let s):
                if let i = Int(s) { return .int(i) }
                if let d = Double(s) { return .double(d) }
                throw ConfigurationError.invalidValue(key: key, reason: "expected a number, got '\(s)'")
            default: throw ConfigurationError.invalidValue(key: key, reason: "expected a number")
            }
        case .string:
            switch user {
            case .string: return user
            case .int(let i): return .string(String(i))
            case .double(let d): return .string(String(d))
            case .bool(let b): return .string(String(b))
            default: throw ConfigurationError.invalidValue(key: key, reason: "expected a string")
            }
        case .array, .null:
            return user
        }
    }
}

/// The keys a value encodes (every field: the settings types have no optionals).
func encodedKeys<T: Encodable>(_ value: T) -> Set<String> {
    Set(((try? ConfigNode.encoding(value)) ?? .null).fields.keys)
}
