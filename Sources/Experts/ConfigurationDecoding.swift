import Foundation
import UniRLTensor

/// Problems with a model's `config.json`.
public enum ModelConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// The JSON is malformed or a value has the wrong type.
    case invalid(path: String, reason: String)
    /// A key this model does not know (a typo would otherwise be silently ignored).
    case unknownKeys(path: String, keys: [String])
    /// Values that cannot describe a working model (e.g. heads that do not divide the width).
    case inconsistent(String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): "cannot read model configuration \(p): \(r)"
        case .invalid(let p, let r): "invalid model configuration \(p): \(r)"
        case .unknownKeys(let p, let keys): "model configuration \(p) has unknown keys: \(keys.joined(separator: ", "))"
        case .inconsistent(let r): "inconsistent model configuration: \(r)"
        }
    }
}

/// Decodes a reference library's `config.json` into `C`, refusing keys that are neither
/// decoded by `C` nor listed in `ignoredKeys` (bookkeeping keys such as `_class_name`,
/// `_diffusers_version`, `architectures`, `torch_dtype`, `transformers_version`).
public func decodeModelConfiguration<C: Decodable>(_ type: C.Type, from url: URL, knownKeys: Set<String>,
                                                   ignoredKeys: Set<String> = standardIgnoredConfigurationKeys) throws -> C {
    let data: Data
    do { data = try Data(readingFileAt: url) } catch {
        throw ModelConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
    }
    return try decodeModelConfiguration(type, from: data, path: url.path, knownKeys: knownKeys, ignoredKeys: ignoredKeys)
}

/// As ``decodeModelConfiguration(_:from:knownKeys:ignoredKeys:)`` for JSON already in memory.
public func decodeModelConfiguration<C: Decodable>(_ type: C.Type, from data: Data, path: String, knownKeys: Set<String>,
                                                   ignoredKeys: Set<String> = standardIgnoredConfigurationKeys) throws -> C {
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
        throw ModelConfigurationError.invalid(path: path, reason: "not a JSON object")
    }
    let unknown = object.keys.filter { !knownKeys.contains($0) && !ignoredKeys.contains($0) && !$0.hasPrefix("_") }.sorted()
    guard unknown.isEmpty else { throw ModelConfigurationError.unknownKeys(path: path, keys: unknown) }
    if let (key, value) = oversizedModelSetting(in: object) {
        // Formatted as a float: a value such as 1e113 overflows Int (found by fuzzing `model-config`).
        let gigabytes = Double(value) * 4 / 1e9
        let size = gigabytes < 1e15 ? String(Int(gigabytes)) : String(format: "%.3g", gigabytes)
        throw ModelConfigurationError.invalid(
            path: path,
            reason: "'\(key)' is \(value): a model with it would need more than \(size) GB "
                + "(at least one float per unit); sizes above \(maximumModelDimension) are refused before allocating")
    }
    do { return try JSONDecoder().decode(type, from: data) } catch {
        throw ModelConfigurationError.invalid(path: path, reason: "\(error)")
    }
}

/// A model configuration read from a reference library's flat `config.json`: unknown keys are
/// refused and the decoded values validated, by one ``load(from:)`` for every such model.
public protocol ModelConfigurationFile: Decodable {
    /// Every key the model's `config.json` may hold (besides bookkeeping keys).
    static var configurationKeys: Set<String> { get }
    /// Throws ``ModelConfigurationError/inconsistent(_:)`` for values that cannot describe a working model.
    func validate() throws
}

extension ModelConfigurationFile {
    /// Reads a `config.json`, refusing unknown keys, and validates it.
    public static func load(from url: URL) throws -> Self {
        let configuration = try decodeModelConfiguration(Self.self, from: url, knownKeys: configurationKeys)
        try configuration.validate()
        return configuration
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or the reference library's default `fallback` when the key is missing.
    func decode<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }

    /// Missing: the default `fallback`; present and `null`: nil (diffusers' meaning of an explicit null).
    func decodeNullable<T: Decodable>(_ key: Key, default fallback: T?) throws -> T? {
        guard contains(key) else { return fallback }
        return try decodeNil(forKey: key) ? nil : decode(T.self, forKey: key)
    }
}

/// Keys that reference libraries write for bookkeeping and that carry no model settings.
public let standardIgnoredConfigurationKeys: Set<String> = [
    "architectures", "torch_dtype", "dtype", "transformers_version", "model_type", "name_or_path",
    "use_cache", "return_dict", "output_hidden_states", "output_attentions", "chunk_size_feed_forward",
]

/// The largest count (layers, width, vocabulary, heads, …) a model configuration may declare:
/// 2²⁴, far above every published model's, small enough that allocation is the next check.
public let maximumModelDimension = 1 << 24

/// The first integer setting, at any depth (`text_config.num_hidden_layers`), above
/// ``maximumModelDimension``; `rope_theta`-like float settings are not counts and are skipped.
func oversizedModelSetting(in object: [String: Any], prefix: String = "") -> (String, Double)? {
    for (key, value) in object.sorted(by: { $0.key < $1.key }) {
        let name = prefix + key
        if let nested = value as? [String: Any] {
            if let found = oversizedModelSetting(in: nested, prefix: name + ".") { return found }
        } else if let number = value as? NSNumber, !key.contains("theta"), !key.hasSuffix("_eps"), !key.hasSuffix("epsilon"),
                  number.doubleValue.rounded() == number.doubleValue,
                  number.doubleValue > Double(maximumModelDimension) {
            return (name, number.doubleValue)
        }
    }
    return nil
}
