import UniRLTensor

/// Makes the parameters of the SANA models (``SanaTransformer``, ``AutoencoderDC``) as their
/// modules are built, in one of three ways:
///
/// - `random`: PyTorch's default initialisation (what `init(configuration:rng:)` gives);
/// - `uninitialized`: storage that is allocated but never written, for a model whose every
///   parameter is about to be loaded (no random draws, and the untouched pages cost no memory
///   until the checkpoint's values replace them);
/// - `shapesOnly`: empty placeholders whose declared shapes are recorded, so that a configuration
///   can list its parameters by name and shape (e.g. Sana_1600M's 1.6 B) without allocating them.
///   A model built this way is only good for ``declaredShapes(of:)``.
final class SanaParameterFactory {
    enum Fill { case random, uninitialized, shapesOnly }

    /// How a parameter starts out under `random`.
    enum Initializer {
        /// U(−bound, bound), as `nn.Linear` / `nn.Conv2d` with bound 1/√fan_in.
        case uniform(bound: Float)
        /// N(0, std²).
        case normal(std: Float)
        case ones, zeros
    }

    let fill: Fill
    private var rng: RandomState
    private var shapes: [ObjectIdentifier: [Int]] = [:]

    init(fill: Fill, rng: RandomState = RandomState(seed: 0)) {
        self.fill = fill
        self.rng = rng
    }

    /// A new parameter of `shape`.
    func parameter(_ shape: [Int], _ initializer: Initializer) -> Parameter {
        switch fill {
        case .shapesOnly:
            let p = Parameter(Tensor(shape: [0], scalars: []), trainable: false)
            shapes[ObjectIdentifier(p)] = shape
            return p
        case .uninitialized:
            return Parameter(Tensor(shape: shape) { _ in })
        case .random:
            switch initializer {
            case .uniform(let bound): return Parameter(.randomUniform(shape, low: -bound, high: bound, using: &rng))
            case .normal(let std): return Parameter(.randomNormal(shape, std: std, using: &rng))
            case .ones: return Parameter(.ones(shape))
            case .zeros: return Parameter(.zeros(shape))
            }
        }
    }

    /// The declared shape of every parameter of `module` by full name (for a `shapesOnly` build;
    /// for the other fills the parameters' own shapes).
    func declaredShapes(of module: some Module) -> [String: [Int]] {
        Dictionary(uniqueKeysWithValues: module.namedParameters().map { entry in
            (entry.name, shapes[ObjectIdentifier(entry.parameter)] ?? entry.parameter.shape)
        })
    }
}
