/// How a parameter starts out when a model is built with random initialisation.
public enum ParameterInitializer: Sendable, Equatable {
    /// U(−bound, bound): PyTorch's default for `nn.Linear` / `nn.Conv2d`, bound 1/√fan_in.
    case uniform(bound: Float)
    /// N(0, std²).
    case normal(std: Float)
    case ones, zeros
    /// Every element `value` (e.g. CLIP's `logit_scale_init_value`).
    case constant(Float)
}

/// How a builder stores the weight matrices of layers that have a bfloat16 path (``Linear``,
/// ``Embedding``; every other parameter is always `Float`).
public enum WeightPrecision: String, Sendable, Codable, CaseIterable {
    /// `Float` parameters, trainable.
    case float32
    /// Frozen ``BFloat16Matrix`` weights: mapped from the file when it stores `BF16`, rounded
    /// otherwise. Half the memory; products accumulate in `Float`.
    case bfloat16
}

/// The one way a model's layers get their parameters, in the spirit of candle's `VarBuilder`
/// (huggingface/candle, candle-nn/src/var_builder.rs): a layer asks for each parameter by its
/// local name and shape, and the builder, scoped to the layer's dotted path, hands it out
///
/// - ``random(_:)``: drawn from a seeded generator in declaration order (the initialiser is a hint
///   used only here);
/// - ``loading(_:rename:)``: read from a checkpoint by full name; the shape, the dtype and the
///   presence of every tensor are checked, and ``finish(_:)`` refuses tensors nobody asked for;
/// - ``shapesOnly()``: nothing allocated, only each name and declared shape recorded, so a
///   real-scale configuration (a 3 B language model) can be listed and counted.
///
/// ```swift
/// let vb = try ParameterBuilder.loading(ShardedCheckpoint(contentsOf: folder))
/// let layer = Linear(inputSize: 64, outputSize: 64, vb.scoped("layers.0.self_attn.q_proj"))
/// try vb.finish(layer)      // missing, mis-shaped, wrongly typed or unexpected tensors throw here
/// ```
///
/// Names are given once, as the scopes and local names a module is built with; ``finish(_:)``
/// checks that they are the names the finished module reports (``Module/namedParameters(prefix:)``).
public final class ParameterBuilder {
    /// What the builder hands out.
    enum Mode {
        case random
        case loading(any TensorSource, rename: [String: String])
        case shapesOnly
    }

    /// Shared by a builder and every scope made from it.
    final class State {
        let mode: Mode
        /// How ``ParameterBuilder/matrix(_:_:_:)`` stores weights.
        let matrices: WeightPrecision
        var rng: RandomState
        /// Every declared parameter: full name → shape, in declaration order.
        var declared: [(name: String, shape: [Int])] = []
        var declaredNames: Set<String> = []
        var report = LoadReport()
        var wrongDType: [(name: String, dtype: String)] = []
        var consumed: Set<String> = []

        /// The initialiser of each declared parameter, by full name (for writing random checkpoints).
        var initializers: [String: ParameterInitializer] = [:]

        init(mode: Mode, rng: RandomState, matrices: WeightPrecision = .float32) {
            self.mode = mode
            self.matrices = matrices
            self.rng = rng
        }
    }

    let state: State
    /// The dotted path of this scope, with a trailing dot (empty at the root).
    public let prefix: String

    init(state: State, prefix: String) {
        self.state = state
        self.prefix = prefix
    }

    /// Parameters drawn from `rng` in the order they are declared.
    /// `matrices`: how ``matrix(_:_:_:)`` weights are kept (`.bfloat16`: drawn, then rounded).
    public static func random(_ rng: RandomState, matrices: WeightPrecision = .float32) -> ParameterBuilder {
        ParameterBuilder(state: State(mode: .random, rng: rng, matrices: matrices), prefix: "")
    }

    /// Parameters read from `source`. `rename` maps a source name to the model's name (`nil`
    /// ignores the tensor), for checkpoint layouts that differ from the module tree. `matrices`:
    /// how ``matrix(_:_:_:)`` weights are kept (`.bfloat16`: mapped from `BF16` files, no copy).
    public static func loading(
        _ source: some TensorSource, matrices: WeightPrecision = .float32, rename: (String) -> String? = { $0 }
    ) -> ParameterBuilder {
        var map: [String: String] = [:]
        var ignored = LoadReport()
        for name in source.tensorNames {
            guard let ours = rename(name) else { continue }
            if map[ours] == nil { map[ours] = name } else { ignored.unexpected.append(name) }
        }
        let state = State(mode: .loading(source, rename: map), rng: RandomState(seed: 0), matrices: matrices)
        state.report.unexpected = ignored.unexpected
        state.report.source = source.sourceDescription
        return ParameterBuilder(state: state, prefix: "")
    }

    /// Empty placeholders; only names and shapes are recorded (``declaredShapes``).
    public static func shapesOnly() -> ParameterBuilder {
        ParameterBuilder(state: State(mode: .shapesOnly, rng: RandomState(seed: 0)), prefix: "")
    }

    /// The builder for the sub-module at `path` (dotted, e.g. `"layers.0"`), candle's `pp`.
    public func scoped(_ path: String) -> ParameterBuilder {
        ParameterBuilder(state: state, prefix: prefix + path + ".")
    }

    /// Whether this builder reads a checkpoint.
    public var isLoading: Bool {
        if case .loading = state.mode { return true }
        return false
    }

    /// Whether this builder only records shapes.
    public var isShapesOnly: Bool {
        if case .shapesOnly = state.mode { return true }
        return false
    }

    /// The generator's state after every random draw so far (for callers that keep drawing).
    public var randomState: RandomState { state.rng }

    /// Names (relative to this scope, in the model's naming) the checkpoint holds; empty unless loading.
    public var availableNames: [String] {
        guard case .loading(_, let map) = state.mode else { return [] }
        return map.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.sorted()
    }

    /// The shape the checkpoint stores for `name` (relative to this scope), if it holds it.
    public func storedShape(_ name: String) throws -> [Int]? {
        guard case .loading(let source, let map) = state.mode, let original = map[prefix + name] else { return nil }
        if let info = source.storedInfo(named: original) { return info.shape }
        return try source.tensor(named: original).shape
    }

    /// The parameter `name` of this scope, of `shape`.
    public func parameter(_ name: String, _ shape: [Int], _ initializer: ParameterInitializer) -> Parameter {
        let full = prefix + name
        precondition(state.declaredNames.insert(full).inserted, "parameter '\(full)' is declared twice")
        state.declared.append((full, shape))
        state.initializers[full] = initializer
        switch state.mode {
        case .shapesOnly:
            return Parameter(Tensor(shape: [0], scalars: []), trainable: false)
        case .random:
            switch initializer {
            case .uniform(let bound): return Parameter(.randomUniform(shape, low: -bound, high: bound, using: &state.rng))
            case .normal(let std): return Parameter(.randomNormal(shape, std: std, using: &state.rng))
            case .ones: return Parameter(.ones(shape))
            case .zeros: return Parameter(.zeros(shape))
            case .constant(let value): return Parameter(Tensor(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *))))
            }
        case .loading(let source, let map):
            return load(full, shape, source: source, original: map[full])
        }
    }

    /// A weight matrix `name` of `shape` [rows, columns] for a layer that multiplies with it
    /// through ``Tensor/linear(bfloat16:bias:)`` or gathers rows: a ``parameter(_:_:_:)`` unless
    /// the builder keeps matrices in ``WeightPrecision/bfloat16``; then a frozen
    /// ``Parameter/bfloat16`` parameter (the checks of loading are the same).
    public func matrix(_ name: String, _ shape: [Int], _ initializer: ParameterInitializer) -> Parameter {
        guard state.matrices == .bfloat16, shape.count == 2 else { return parameter(name, shape, initializer) }
        if case .loading(let source, let map) = state.mode, let original = map[prefix + name],
            let info = source.storedInfo(named: original), info.dtype == .BF16, info.shape == shape,
            let mapped = try? source.bfloat16Matrix(named: original)
        {
            let full = prefix + name
            precondition(state.declaredNames.insert(full).inserted, "parameter '\(full)' is declared twice")
            state.declared.append((full, shape))
            state.initializers[full] = initializer
            state.consumed.insert(original)
            state.report.loaded.append(full)
            return Parameter(bfloat16: mapped)
        }
        let p = parameter(name, shape, initializer)
        guard p.shape == shape else { return p }  // a placeholder: `finish` reports why
        return Parameter(bfloat16: BFloat16Matrix(rounding: p.value))
    }

    private func load(_ full: String, _ shape: [Int], source: some TensorSource, original: String?) -> Parameter {
        // A placeholder stands in for anything that cannot be loaded; `finish` then throws.
        let placeholder = Parameter(Tensor(shape: [0], scalars: []), trainable: false)
        guard let original else {
            state.report.missing.append(full)
            return placeholder
        }
        state.consumed.insert(original)
        if let info = source.storedInfo(named: original) {
            guard info.dtype.holdsWeights else {
                state.wrongDType.append((full, info.dtype.rawValue))
                return placeholder
            }
            guard info.shape == shape else {
                state.report.mismatched.append((full, shape, info.shape))
                return placeholder
            }
        }
        do {
            let t = try source.tensor(named: original)
            guard t.shape == shape else {
                state.report.mismatched.append((full, shape, t.shape))
                return placeholder
            }
            state.report.loaded.append(full)
            return Parameter(t)
        } catch {
            state.wrongDType.append((full, "\(error)"))
            return placeholder
        }
    }

    /// Every declared parameter by full name and shape (what a ``shapesOnly()`` build is for).
    public var declaredShapes: [String: [Int]] {
        Dictionary(uniqueKeysWithValues: state.declared.map { ($0.name, $0.shape) })
    }

    /// The initialiser each declared parameter asked for, by full name.
    public var declaredInitializers: [String: ParameterInitializer] { state.initializers }

    /// Every declared parameter by full name and shape, in declaration order.
    public var declaredParameters: [(name: String, shape: [Int])] { state.declared }

    /// Ends a build of `module` (the module built from this root builder): checks that the declared
    /// names are the module's own, and when loading, that every parameter was found with its shape
    /// and a floating-point dtype and that the checkpoint holds nothing else.
    ///
    /// Throws ``ModuleLoadError/shapeMismatch(_:)`` for a mis-shaped tensor,
    /// ``ModuleLoadError/wrongDType(name:dtype:source:)`` for a tensor that is not floating point, and
    /// ``ModuleLoadError/incompatible(_:)`` for missing or unexpected tensors; each names the file.
    public func finish(_ module: some Module) throws {
        let ownNames = Set(module.namedParameters().map(\.name).map { prefix + $0 })
        let declaredHere = state.declaredNames.filter { $0.hasPrefix(prefix) }
        if ownNames != declaredHere {
            throw ModuleLoadError.declarationMismatch(
                declaredOnly: declaredHere.subtracting(ownNames).sorted(), moduleOnly: ownNames.subtracting(declaredHere).sorted())
        }
        guard case .loading(_, let map) = state.mode else { return }
        var report = state.report
        report.unexpected += map.filter { $0.key.hasPrefix(prefix) && !state.consumed.contains($0.value) }.map(\.value)
        report.unexpected.sort()
        report.missing.sort()
        if let bad = state.wrongDType.first {
            throw ModuleLoadError.wrongDType(name: bad.name, dtype: bad.dtype, source: report.source)
        }
        if !report.mismatched.isEmpty { throw ModuleLoadError.shapeMismatch(report) }
        if !report.isClean { throw ModuleLoadError.incompatible(report) }
    }

    /// Builds a module with `make` and ``finish(_:)``es it: the one call for random, loaded and
    /// shape-only models alike.
    public func build<M: Module>(_ make: (ParameterBuilder) throws -> M) throws -> M {
        let module = try make(self)
        try finish(module)
        return module
    }
}

extension SafeTensorsDType {
    /// Whether a tensor of this type can be a model weight (converted to Float32 on load).
    var holdsWeights: Bool { self == .F32 || self == .F16 || self == .BF16 || self == .F64 }
}
