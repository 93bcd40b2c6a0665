import Foundation
import Yams

/// Why a configuration could not be read.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// A key that the configuration does not have, with its full dotted path.
    case unknownKey(String)
    /// A value of the wrong type or out of range.
    case invalidValue(key: String, reason: String)
    /// An override that is not `key=value`.
    case malformedOverride(String)
    /// A file that could not be read or parsed.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let k): "unknown configuration key '\(k)'"
        case .invalidValue(let k, let r): "invalid value for '\(k)': \(r)"
        case .malformedOverride(let s): "override '\(s)' is not of the form section.key=value"
        case .unreadable(let p, let r): "cannot read configuration \(p): \(r)"
        }
    }
}

extension GRPOConfiguration {
    /// Reads a JSON document; keys not given keep their defaults.
    public init(json: String) throws {
        let node: ConfigNode
        do { node = try JSONDecoder().decode(ConfigNode.self, from: Data(json.utf8)) } catch {
            throw ConfigurationError.unreadable(path: "<json>", reason: "\(error)")
        }
        self = try GRPOConfiguration().merging(node)
    }

    /// Reads a YAML document; keys not given keep their defaults.
    public init(yaml: String) throws {
        let any: Any?
        do { any = try Yams.load(yaml: yaml) } catch {
            throw ConfigurationError.unreadable(path: "<yaml>", reason: "\(error)")
        }
        self = try GRPOConfiguration().merging(ConfigNode(any: any ?? [String: Any]()))
    }

    /// Reads `url` (JSON when it ends in `.json`, YAML otherwise), then applies `overrides`.
    public static func load(from url: URL?, overrides: [String] = []) throws -> GRPOConfiguration {
        var config = GRPOConfiguration()
        if let url {
            let text: String
            do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                throw ConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
            }
            config = url.pathExtension.lowercased() == "json" ? try GRPOConfiguration(json: text) : try GRPOConfiguration(yaml: text)
        }
        config = try config.applying(overrides: overrides)
        try config.validate()
        return config
    }

    /// Applies `key=value` overrides in order. Keys are dotted paths (`trainer.group_size=16`,
    /// `experts.dm.kl_variant=flow_grpo`); `trainer.<field>_<expert>=v` is a shorthand for
    /// `experts.<expert>.<field>=v` (e.g. `trainer.beta_lm=0.04`). Values are YAML scalars.
    public func applying(overrides: [String]) throws -> GRPOConfiguration {
        var config = self
        for override in overrides {
            guard let eq = override.firstIndex(of: "=") else { throw ConfigurationError.malformedOverride(override) }
            var path = override[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let text = String(override[override.index(after: eq)...])
            guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else { throw ConfigurationError.malformedOverride(override) }
            path = config.resolveShorthand(path)
            let value: ConfigNode
            if let parsed = try? Yams.load(yaml: text), !(parsed is [String: Any]) { value = ConfigNode(any: parsed) } else { value = .string(text) }
            var node = value
            for key in path.reversed() { node = .object([key: node]) }
            config = try config.merging(node)
        }
        return config
    }

    /// The configuration as pretty-printed JSON with sorted keys.
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The configuration as YAML.
    public func yamlString() throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(self)
    }

    private func resolveShorthand(_ path: [String]) -> [String] {
        guard path.count == 2, path[0] == "trainer", !encodedKeys(TrainerSettings()).contains(path[1]) else { return path }
        for expert in experts.keys.sorted(by: { $0.count > $1.count }) where path[1].hasSuffix("_" + expert) {
            let field = String(path[1].dropLast(expert.count + 1))
            if encodedKeys(ExpertSettings()).contains(field) { return ["experts", expert, field] }
        }
        return path
    }

    /// Merges `node` onto this configuration, checking every key against the schema.
    func merging(_ node: ConfigNode) throws -> GRPOConfiguration {
        let current = try ConfigNode.encoding(self)
        let template = try ConfigNode.encoding(ExpertSettings())
        let merged = try ConfigNode.merge(node, onto: current, path: [], expertTemplate: template)
        do {
            let data = try JSONEncoder().encode(merged)
            return try JSONDecoder().decode(GRPOConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw ConfigurationError(decodingError: error)
        }
    }
}

extension ConfigurationError {
    init(decodingError: DecodingError) {
        func key(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch decodingError {
        case .typeMismatch(let type, let c): self = .invalidValue(key: key(c.codingPath), reason: "expected \(type)")
        case .valueNotFound(let type, let c): self = .invalidValue(key: key(c.codingPath), reason: "missing \(type)")
        case .keyNotFound(let k, let c): self = .invalidValue(key: key(c.codingPath + [k]), reason: "missing")
        case .dataCorrupted(let c): self = .invalidValue(key: key(c.codingPath), reason: c.debugDescription)
        @unknown default: self = .invalidValue(key: "?", reason: "\(decodingError)")
        }
    }
}

/// The keys a value encodes (every field: the settings types have no optionals).
func encodedKeys<T: Encodable>(_ value: T) -> Set<String> {
    guard case .object(let fields)? = try? ConfigNode.encoding(value) else { return [] }
    return Set(fields.keys)
}

/// A JSON/YAML document tree, used to merge partial configurations onto complete ones.
enum ConfigNode: Codable, Equatable {
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigNode])
    case object([String: ConfigNode])
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let i = try? c.decode(Int.self) { self = .int(i) } else if let d = try? c.decode(Double.self) { self = .double(d) } else if let s = try? c.decode(String.self) { self = .string(s) } else if let a = try? c.decode([ConfigNode].self) { self = .array(a) } else { self = .object(try c.decode([String: ConfigNode].self)) }
    }

    func encode(to encoder: Encoder) throws {
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
    init(any: Any) {
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

    static func encoding<T: Encodable>(_ value: T) throws -> ConfigNode {
        try JSONDecoder().decode(ConfigNode.self, from: JSONEncoder().encode(value))
    }

    /// Overlays `user` on `schema`; every key of `user` must exist in `schema`, except new
    /// entries of the `experts` map, which are checked against `expertTemplate`.
    static func merge(_ user: ConfigNode, onto schema: ConfigNode, path: [String], expertTemplate: ConfigNode) throws -> ConfigNode {
        let key = path.joined(separator: ".")
        switch schema {
        case .object(var fields):
            guard case .object(let given) = user else {
                throw ConfigurationError.invalidValue(key: key.isEmpty ? "<root>" : key, reason: "expected a mapping")
            }
            for (k, v) in given.sorted(by: { $0.key < $1.key }) {
                if let existing = fields[k] {
                    fields[k] = try merge(v, onto: existing, path: path + [k], expertTemplate: expertTemplate)
                } else if path == ["experts"] {
                    fields[k] = try merge(v, onto: expertTemplate, path: path + [k], expertTemplate: expertTemplate)
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
