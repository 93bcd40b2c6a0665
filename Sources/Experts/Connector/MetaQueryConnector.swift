import Foundation
import UniRLTensor

/// Which learned query set feeds the LM: text-to-image or image-to-image (editing).
public enum MetaQuerySet: String, Codable, Sendable, CaseIterable {
    case t2i, i2i
    /// The parameter's name in the weight file (`t2i_queries`, `i2i_queries`).
    public var parameterName: String { rawValue + "_queries" }
}

/// Problems with a connector folder or request.
public enum ConnectorError: Error, CustomStringConvertible, Equatable {
    /// The weights hold no such query set.
    case missingQueries(MetaQuerySet)
    /// A stored query set's shape disagrees with the configuration.
    case queryShape(name: String, expected: [Int], found: [Int])
    /// The LM states handed to the connector have the wrong shape.
    case inputShape(expected: String, got: [Int])

    public var description: String {
        switch self {
        case .missingQueries(let s): "the connector holds no \(s.parameterName)"
        case .queryShape(let n, let e, let f): "\(n) is \(f) in the weights, the configuration expects \(e)"
        case .inputShape(let e, let g): "connector input must be \(e), got \(g)"
        }
    }
}

/// UniRL-Zero's connector (`VisionTransformerProjector`, G-U-N/UniRL
/// unimodel/blip3o/model/multimodal_projector/transformer_projector.py) with the learned
/// meta-queries (`t2i_queries`, `i2i_queries`, unimodel/blip3o/model/blip3o_arch.py) beside it:
///
///     x = LM final-norm states at the N query positions      [B, N, d]
///     x = block_i(x)          i < num_hidden_layers           (pre-norm, bidirectional attention)
///     out = output_linear(norm_final(x))                      [B, N, output_size]
///
/// Parameter names are the official module's (`layers.0.attn.q_proj.weight`, `norm_final.weight`,
/// `output_linear.bias`, `t2i_queries`). A folder holds `config.json`
/// (``MetaQueryConnectorConfiguration``) and `model.safetensors`.
///
/// ```swift
/// let connector = try MetaQueryConnector.load(from: folder.appendingPathComponent("connector"))
/// let condition = connector(states)                 // [B, N, 2304] for SANA's cross-attention
/// let queries = try connector.queries(.t2i)         // [1, N, d], appended after the prompt
/// ```
public final class MetaQueryConnector: Module {
    public let configuration: MetaQueryConnectorConfiguration
    let layers: ModuleList<ConnectorBlock>
    let normFinal: RMSNorm
    let outputLinear: Linear
    /// The stored query sets, [1, N, d] each.
    let querySets: [MetaQuerySet: Parameter]

    /// A connector with PyTorch's default initialisation and N(0, 1) queries (as the official
    /// code) for `querySets` when the configuration has `num_queries`.
    public convenience init(configuration: MetaQueryConnectorConfiguration, querySets: [MetaQuerySet] = MetaQuerySet.allCases,
                            rng: inout RandomState) throws {
        try configuration.validate()
        self.init(configuration: configuration, querySets: configuration.numQueries == nil ? [] : querySets,
                  .random(rng.fork()))
    }

    /// Builds the module tree with parameters from `vb` (random, loaded or shapes only).
    init(configuration c: MetaQueryConnectorConfiguration, querySets: [MetaQuerySet], _ vb: ParameterBuilder) {
        configuration = c
        layers = ModuleList((0..<c.numHiddenLayers).map { ConnectorBlock(c, vb.scoped("layers.\($0)")) })
        normFinal = RMSNorm(dimension: c.hiddenSize, eps: Float(c.rmsNormEps), vb.scoped("norm_final"))
        outputLinear = Linear(inputSize: c.hiddenSize, outputSize: c.outputSize, vb.scoped("output_linear"))
        var sets: [MetaQuerySet: Parameter] = [:]
        if let n = c.numQueries {
            for s in querySets { sets[s] = vb.parameter(s.parameterName, [1, n, c.hiddenSize], .normal(std: 1)) }
        }
        self.querySets = sets
    }

    public var parameters: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: querySets.map { ($0.key.parameterName, $0.value) })
    }
    public var submodules: [String: any Module] { ["layers": layers, "norm_final": normFinal, "output_linear": outputLinear] }

    /// The query sets this connector stores.
    public var availableQuerySets: [MetaQuerySet] { MetaQuerySet.allCases.filter { querySets[$0] != nil } }

    /// The learned queries of `set`, [1, N, d] (on the tape while they train).
    public func queries(_ set: MetaQuerySet) throws -> Tensor {
        guard let p = querySets[set] else { throw ConnectorError.missingQueries(set) }
        return p.value
    }

    /// The parameter holding a query set, if stored.
    public func queryParameter(_ set: MetaQuerySet) -> Parameter? { querySets[set] }

    /// LM states [B, N, d] → conditioning [B, N, output_size].
    public func callAsFunction(_ states: Tensor) -> Tensor {
        var x = states
        for block in layers.items { x = block(x) }
        return outputLinear(normFinal(x))
    }

    /// As ``callAsFunction(_:)``, throwing for states that are not [B, N, hidden_size].
    public func project(_ states: Tensor) throws -> Tensor {
        guard states.rank == 3, states.shape[2] == configuration.hiddenSize else {
            throw ConnectorError.inputShape(expected: "[B, N, \(configuration.hiddenSize)]", got: states.shape)
        }
        return self(states)
    }

    // MARK: Files

    /// Reads a folder with `config.json` and `model.safetensors` (or a sharded checkpoint).
    /// The query sets are those the weights hold; `num_queries`, when given, must match them.
    public static func load(from directory: URL) throws -> MetaQueryConnector {
        try load(from: directory, matrices: .float32)
    }

    /// The same, with the weight matrices kept as `matrices` says (``WeightPrecision/bfloat16``:
    /// frozen, memory-mapped from `BF16` files).
    public static func load(from directory: URL, matrices: WeightPrecision) throws -> MetaQueryConnector {
        let configuration = try MetaQueryConnectorConfiguration.load(from: directory.appendingPathComponent("config.json"))
        return try load(configuration: configuration, from: .loading(ShardedCheckpoint(contentsOf: directory), matrices: matrices))
    }

    /// Builds a connector from `configuration` and a loading builder (scoped to the connector's
    /// names), strictly: nothing missing, nothing left over. The query sets are those stored.
    static func load(configuration: MetaQueryConnectorConfiguration, from vb: ParameterBuilder) throws -> MetaQueryConnector {
        var c = configuration
        let names = Set(vb.availableNames)
        let stored = MetaQuerySet.allCases.filter { names.contains($0.parameterName) }
        for set in stored {
            let shape = try vb.storedShape(set.parameterName) ?? []
            let n = shape.count == 3 ? shape[1] : -1
            let expected = [1, c.numQueries ?? n, c.hiddenSize]
            guard shape == expected else { throw ConnectorError.queryShape(name: set.parameterName, expected: expected, found: shape) }
            c.numQueries = n
        }
        if configuration.numQueries != nil && stored.isEmpty { throw ConnectorError.missingQueries(.t2i) }
        return try vb.build { MetaQueryConnector(configuration: c, querySets: stored, $0) }
    }

    /// Writes `config.json` (with `num_queries` when queries are stored) and `model.safetensors`.
    public func save(to directory: URL, dtype: SafeTensorsDType = .F32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var c = configuration
        if querySets.isEmpty { c.numQueries = nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(c).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try SafeTensors.write(stateDict(), dtype: dtype, to: directory.appendingPathComponent("model.safetensors"))
    }
}

extension MetaQueryConnectorConfiguration {
    /// Every parameter by name and shape (with both query sets when `num_queries` is set),
    /// computed without allocating.
    public func parameterShapes() throws -> [String: [Int]] {
        try validate()
        let vb = ParameterBuilder.shapesOnly()
        _ = try vb.build { MetaQueryConnector(configuration: self, querySets: MetaQuerySet.allCases, $0) }
        return vb.declaredShapes
    }
}
