/// Anything that can hand out named tensors: a safetensors file, a sharded checkpoint, a dictionary.
public protocol TensorSource {
    /// The names of every tensor the source holds.
    var tensorNames: [String] { get }
    /// The named tensor, converted to Float32.
    func tensor(named name: String) throws -> Tensor
    /// The stored dtype and shape of a tensor without reading it, when the source knows them.
    func storedInfo(named name: String) -> (dtype: SafeTensorsDType, shape: [Int])?
    /// Where the tensors come from (a file path), for error messages.
    var sourceDescription: String? { get }
    /// The named tensor as stored bfloat16 bits without conversion, when the source holds it
    /// that way (rank 2, `BF16`); `nil` otherwise.
    func bfloat16Matrix(named name: String) throws -> BFloat16Matrix?
}

extension TensorSource {
    public func bfloat16Matrix(named name: String) throws -> BFloat16Matrix? { nil }
    public func storedInfo(named name: String) -> (dtype: SafeTensorsDType, shape: [Int])? { nil }
    public var sourceDescription: String? { nil }
}

extension Dictionary: TensorSource where Key == String, Value == Tensor {
    public var tensorNames: [String] { keys.sorted() }
    public func tensor(named name: String) throws -> Tensor {
        guard let t = self[name] else { throw ModuleLoadError.missingTensor(name) }
        return t
    }
}

/// What loading a checkpoint into a module found.
public struct LoadReport: Sendable, CustomStringConvertible {
    /// Parameters of the module that the checkpoint does not have.
    public var missing: [String] = []
    /// Checkpoint tensors that match no parameter.
    public var unexpected: [String] = []
    /// Names present on both sides with different shapes.
    public var mismatched: [(name: String, expected: [Int], found: [Int])] = []
    /// Parameters that were loaded.
    public var loaded: [String] = []
    /// The file the tensors came from, when known.
    public var source: String?

    public var isClean: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        var lines: [String] = [(source.map { "\($0): " } ?? "") + "loaded \(loaded.count) tensors"]
        func list(_ names: [String]) -> String { names.prefix(20).joined(separator: ", ") + (names.count > 20 ? ", …" : "") }
        if !missing.isEmpty { lines.append("missing (\(missing.count)): " + list(missing)) }
        if !unexpected.isEmpty { lines.append("unexpected (\(unexpected.count)): " + list(unexpected)) }
        for m in mismatched.prefix(20) {
            lines.append("shape mismatch: \(m.name) is \(m.found) in the checkpoint, the model expects \(m.expected)")
        }
        return lines.joined(separator: "\n")
    }
}

public enum ModuleLoadError: Error, CustomStringConvertible {
    /// Strict loading found missing, unexpected or mis-shaped names.
    case incompatible(LoadReport)
    /// Shapes differ (refused in every mode: loading them would silently damage the model).
    case shapeMismatch(LoadReport)
    case missingTensor(String)
    /// A tensor that should be a weight is not stored as floating point (or could not be read).
    case wrongDType(name: String, dtype: String, source: String?)
    /// The names a module was built with (``ParameterBuilder``) differ from the names it reports:
    /// a bug in the module, not in the checkpoint.
    case declarationMismatch(declaredOnly: [String], moduleOnly: [String])

    public var description: String {
        switch self {
        case .incompatible(let r): "checkpoint does not match the model:\n\(r)"
        case .shapeMismatch(let r): "checkpoint shapes do not match the model:\n\(r)"
        case .missingTensor(let n): "no tensor named '\(n)'"
        case .wrongDType(let n, let d, let s): "\(s.map { "\($0): " } ?? "")tensor '\(n)' cannot be a weight (\(d))"
        case .declarationMismatch(let d, let m):
            "the module's parameter names differ from those it was built with: declared only \(d), listed only \(m)"
        }
    }
}

extension Module {
    /// Loads parameter values from `source` by full name.
    ///
    /// - Parameters:
    ///   - strict: when true, any missing or unexpected name is an error; when false they are
    ///     only reported. Mis-shaped tensors are an error in both modes.
    ///   - rename: maps a checkpoint name to this module's name (return `nil` to ignore a tensor);
    ///     use it for checkpoint layouts that differ from the module tree.
    /// - Returns: what was loaded, missing and unexpected.
    @discardableResult
    public func load(from source: some TensorSource, strict: Bool = true,
                     rename: (String) -> String? = { $0 }) throws -> LoadReport {
        let params = Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.name, $0.parameter) })
        var report = LoadReport()
        report.source = source.sourceDescription
        var pending: [(Parameter, Tensor)] = []
        var seen = Set<String>()
        for sourceName in source.tensorNames {
            guard let name = rename(sourceName) else { continue }
            guard let p = params[name] else { report.unexpected.append(sourceName); continue }
            seen.insert(name)
            let t = try source.tensor(named: sourceName)
            guard t.shape == p.shape else {
                report.mismatched.append((name, p.shape, t.shape))
                continue
            }
            pending.append((p, t))
            report.loaded.append(name)
        }
        report.missing = params.keys.filter { !seen.contains($0) }.sorted()
        if !report.mismatched.isEmpty { throw ModuleLoadError.shapeMismatch(report) }
        if strict && !report.isClean { throw ModuleLoadError.incompatible(report) }
        // Nothing is written unless the whole load succeeds.
        for (p, t) in pending { p.assign(t) }
        return report
    }
}

extension SafeTensorsFile: TensorSource {
    public var tensorNames: [String] { names }
    public func storedInfo(named name: String) -> (dtype: SafeTensorsDType, shape: [Int])? { info(for: name) }
}

extension ShardedCheckpoint: TensorSource {
    public var tensorNames: [String] { names }
    public func storedInfo(named name: String) -> (dtype: SafeTensorsDType, shape: [Int])? { info(for: name) }
    public var sourceDescription: String? { url.path }
}
