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
    /// `experts.NAME.*` for an expert that the scenario does not have.
    case unknownExpert(String, known: [String])

    public var description: String {
        switch self {
        case .unknownKey(let k): "unknown configuration key '\(k)'"
        case .invalidValue(let k, let r): "invalid value for '\(k)': \(r)"
        case .malformedOverride(let s): "override '\(s)' is not of the form section.key=value"
        case .unreadable(let p, let r): "cannot read configuration \(p): \(r)"
        case .unknownExpert(let n, let known):
            "settings for expert '\(n)', which this scenario does not have (its experts: \(known.joined(separator: ", ")))"
        }
    }
}

/// A `Codable` settings type that can be read partially from JSON or YAML and overridden key by
/// key: the one override mechanism of every settings type (`run.*`, `trainer.*`, `experts.*`,
/// `scenario.*`). Keys not given keep their current values; unknown keys are an error that names
/// them; values are checked against the type of the current value.
///
/// ```swift
/// struct MySettings: MergeableSettings { var steps = 10; var label = "a" }
/// let s = try MySettings().applying(overrides: ["steps=20"])          // keys as they encode
/// let t = try s.merging(yaml: "label: b")
/// ```
public protocol MergeableSettings: Codable {
    /// Dotted paths of string-keyed maps that accept new entries (`experts` of
    /// ``GRPOConfiguration``), each with the value a new entry starts from. Default none.
    static var openMaps: [String: ConfigNode] { get }
    /// Checks ranges after a merge; throws ``ConfigurationError/invalidValue(key:reason:)``.
    func validate() throws
    /// Rewrites an override's key path before it is applied (for shorthands). Default identity.
    func resolveOverridePath(_ path: [String]) -> [String]
}

extension MergeableSettings {
    public static var openMaps: [String: ConfigNode] { [:] }
    public func validate() throws {}
    public func resolveOverridePath(_ path: [String]) -> [String] { path }

    /// Overlays a document tree; every key must exist (or lie in an open map). `keyPrefix` is put
    /// before key names in errors (`scenario.` for a scenario's settings); `closedMaps` names open
    /// maps that accept no new entry here (an error lists the entries they have).
    public func merging(_ node: ConfigNode, keyPrefix: String = "", closedMaps: Set<String> = []) throws -> Self {
        let prefix = keyPrefix.isEmpty ? [] : keyPrefix.split(separator: ".").map(String.init)
        let current = try ConfigNode.encoding(self)
        let merged = try ConfigNode.merge(
            node, onto: current, path: prefix,
            rules: ConfigNode.MergeRules(prefix: prefix, openMaps: Self.openMaps, closedMaps: closedMaps))
        do {
            return try JSONDecoder().decode(Self.self, from: JSONEncoder().encode(merged))
        } catch let error as DecodingError {
            if let culprit = Self.firstUndecodableLeaf(of: node, onto: current, prefix: prefix) {
                throw ConfigurationError.invalidValue(
                    key: culprit.key, reason: "\(culprit.value) does not fit this setting (out of range or not a whole number)")
            }
            throw ConfigurationError(decodingError: error, keyPrefix: keyPrefix)
        }
    }

    /// The first number of `node` that alone makes the settings undecodable (a value too large
    /// for its field, a fraction for a count): Foundation's decoder does not say which key it
    /// was, so each numeric leaf is tried by itself.
    private static func firstUndecodableLeaf(
        of node: ConfigNode, onto current: ConfigNode,
        prefix: [String]
    ) -> (key: String, value: String)? {
        var leaves: [([String], ConfigNode)] = []
        func collect(_ n: ConfigNode, _ path: [String]) {
            switch n {
            case .object(let o): for (k, v) in o.sorted(by: { $0.key < $1.key }) { collect(v, path + [k]) }
            case .int, .double: leaves.append((path, n))
            default: break
            }
        }
        collect(node, [])
        let rules = ConfigNode.MergeRules(prefix: prefix, openMaps: openMaps)
        for (path, value) in leaves {
            guard let merged = try? ConfigNode.merge(ConfigNode(path: path, value: value), onto: current, path: prefix, rules: rules),
                let data = try? JSONEncoder().encode(merged)
            else { continue }
            if (try? JSONDecoder().decode(Self.self, from: data)) == nil {
                let text: String =
                    switch value {
                    case .int(let i): "\(i)"
                    case .double(let d): "\(d)"
                    default: "the value"
                    }
                return ((prefix + path).joined(separator: "."), text)
            }
        }
        return nil
    }

    /// These settings with a JSON document overlaid.
    public func merging(json: String, keyPrefix: String = "") throws -> Self {
        try merging(ConfigNode.parse(json: json), keyPrefix: keyPrefix)
    }

    /// These settings with a YAML document overlaid.
    public func merging(yaml: String, keyPrefix: String = "") throws -> Self {
        try merging(ConfigNode.parse(yaml: yaml), keyPrefix: keyPrefix)
    }

    /// Applies `key=value` overrides in order (keys as the settings encode them, dotted for nested
    /// values; values are YAML scalars). Call ``validate()`` when done.
    public func applying(overrides: [String], keyPrefix: String = "", closedMaps: Set<String> = []) throws -> Self {
        var settings = self
        for override in overrides {
            let (path, value) = try ConfigNode.parseOverride(override)
            settings = try settings.merging(
                ConfigNode(path: settings.resolveOverridePath(path), value: value),
                keyPrefix: keyPrefix, closedMaps: closedMaps)
        }
        return settings
    }

    /// The settings as pretty-printed JSON with sorted keys.
    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The settings as YAML with sorted keys.
    public func yamlString() throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(self)
    }
}

extension ConfigurationError {
    init(decodingError: DecodingError, keyPrefix: String = "") {
        func key(_ path: [CodingKey]) -> String {
            ((keyPrefix.isEmpty ? [] : [keyPrefix]) + path.map(\.stringValue)).joined(separator: ".")
        }
        switch decodingError {
        case .typeMismatch(let type, let c): self = .invalidValue(key: key(c.codingPath), reason: "expected \(type)")
        case .valueNotFound(let type, let c): self = .invalidValue(key: key(c.codingPath), reason: "missing \(type)")
        case .keyNotFound(let k, let c): self = .invalidValue(key: key(c.codingPath + [k]), reason: "missing")
        case .dataCorrupted(let c): self = .invalidValue(key: key(c.codingPath), reason: c.debugDescription)
        @unknown default: self = .invalidValue(key: key([]), reason: "\(decodingError)")
        }
    }
}
