/// A low-rank adapter of one ``Linear`` (LoRA, Hu et al. 2021):
///
///     y = x·Wᵀ + b + (α/r)·(x·Aᵀ)·Bᵀ,   A [r, in] ~ U(−1/√in, 1/√in),   B [out, r] = 0
///
/// as huggingface/peft `src/peft/tuners/lora/layer.py` initialises and names it (`lora_A.weight`,
/// `lora_B.weight` under the adapted layer; dropout 0). B = 0 makes the adapted model equal the base
/// model until training moves B.
public final class LoRAAdapter: Module {
    /// A, the down projection (`lora_A`).
    public let down: Linear
    /// B, the up projection (`lora_B`), zero at creation.
    public let up: Linear
    public let rank: Int
    public let alpha: Float
    /// When false the adapted layer computes its base output only (the reference policy).
    public var isEnabled = true

    /// α/r, the adapter's scale.
    public var scale: Float { alpha / Float(rank) }

    public init(inputSize: Int, outputSize: Int, rank: Int, alpha: Float, rng: inout RandomState) {
        self.rank = rank
        self.alpha = alpha
        down = Linear(inputSize: inputSize, outputSize: rank, bias: false, rng: &rng)
        up = Linear(inputSize: rank, outputSize: outputSize, bias: false, rng: &rng)
        up.weight.assign(.zeros([outputSize, rank]))
    }

    public var submodules: [String: any Module] { ["lora_A": down, "lora_B": up] }

    /// (α/r)·B·A·x, the adapter's addition to the base output.
    public func callAsFunction(_ x: Tensor) -> Tensor { up(down(x)) * scale }

    /// (α/r)·B·A, the change to the base weight `[out, in]`.
    public var weightDelta: Tensor { up.weight.value.matmul(down.weight.value) * scale }
}

/// LoRA on any ``Linear`` of any model, by module-name pattern (PEFT's `target_modules`).
///
/// ```swift
/// let adapted = try LoRA.attach(to: model, targets: ["q_proj", "v_proj"], rank: 8, alpha: 16, rng: &rng)
/// // train: only the adapters are trainable; export under the reference names:
/// LoRA.merge(model)
/// ```
public enum LoRA {
    /// Why adapters could not be attached.
    public enum AttachError: Error, Equatable, CustomStringConvertible {
        case noMatch(targets: [String])
        case invalidRank(Int)

        public var description: String {
            switch self {
            case .noMatch(let t): "no Linear layer matches the LoRA targets \(t)"
            case .invalidRank(let r): "LoRA rank must be ≥ 1, got \(r)"
            }
        }
    }

    /// Every ``Linear`` below `module` with its dotted path, sorted by path.
    public static func linearLayers(in module: any Module, prefix: String = "") -> [(path: String, layer: Linear)] {
        var out: [(String, Linear)] = []
        for (name, child) in module.submodules {
            let path = prefix.isEmpty ? name : prefix + "." + name
            if let linear = child as? Linear {
                out.append((path, linear))
            } else {
                out += linearLayers(in: child, prefix: path)
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Whether a layer path matches a target: the path itself, a suffix after a dot (PEFT's rule,
    /// `q_proj` matches `layers.0.self_attn.q_proj`), or a pattern with `*` wildcards over the whole path.
    public static func matches(_ path: String, target: String) -> Bool {
        if target.contains("*") { return wildcard(Array(target), Array(path)) }
        return path == target || path.hasSuffix("." + target)
    }

    private static func wildcard(_ p: [Character], _ s: [Character]) -> Bool {
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count && p[i] != "*" && p[i] == s[j] {
                i += 1
                j += 1
            } else if i < p.count && p[i] == "*" {
                star = i
                mark = j
                i += 1
            } else if star >= 0 {
                i = star + 1
                mark += 1
                j = mark
            } else {
                return false
            }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }

    /// Attaches a fresh adapter to every matching Linear that has none, freezes every other
    /// parameter of `module`, and returns the adapted paths. Throws when nothing matches.
    @discardableResult
    public static func attach(
        to module: any Module, targets: [String], rank: Int, alpha: Float,
        rng: inout RandomState
    ) throws -> [String] {
        guard rank >= 1 else { throw AttachError.invalidRank(rank) }
        let chosen = linearLayers(in: module).filter { l in targets.contains { matches(l.path, target: $0) } }
        guard !chosen.isEmpty else { throw AttachError.noMatch(targets: targets) }
        module.freeze()
        for (_, layer) in chosen where layer.adapter == nil {
            let shape = layer.weight.shape
            layer.adapter = LoRAAdapter(inputSize: shape[1], outputSize: shape[0], rank: rank, alpha: alpha, rng: &rng)
        }
        return chosen.map(\.path)
    }

    /// Folds every adapter into its base weight (W ← W + (α/r)·B·A) and removes it, so the model's
    /// parameters carry the reference names again (for export). Returns the merged paths.
    @discardableResult
    public static func merge(_ module: any Module) -> [String] {
        var merged: [String] = []
        for (path, layer) in linearLayers(in: module) {
            guard let adapter = layer.adapter else { continue }
            if adapter.isEnabled { layer.weight.assign(layer.weight.value.detached() + adapter.weightDelta.detached()) }
            layer.adapter = nil
            merged.append(path)
        }
        return merged
    }

    /// Runs `body` with every adapter below `module` switched off (the base model: flow_grpo's
    /// reference policy under LoRA).
    public static func withAdaptersDisabled<R>(_ module: any Module, _ body: () throws -> R) rethrows -> R {
        let adapters = linearLayers(in: module).compactMap(\.layer.adapter).filter(\.isEnabled)
        for a in adapters { a.isEnabled = false }
        defer { for a in adapters { a.isEnabled = true } }
        return try body()
    }
}
