import UniRLExperts
import UniRLTensor

/// A synthetic sequence task for the engine demo: given digits, emit them reversed.
///
///     [BOS] 3 1 4 1 [SEP] 1 4 1 3
///
/// Only the tokens after [SEP] are scored. Solving it needs attention to look back across the
/// sequence at the mirrored position, which a model without working positions cannot do.
struct SequenceReversalTask {
    let digits = 10
    let length: Int
    var vocabularySize: Int { digits + 2 }
    var bos: Int { digits }
    var sep: Int { digits + 1 }
    var sequenceLength: Int { 2 * length + 1 }

    /// A batch of token sequences (inputs) and next-token targets (−100 where not scored).
    func batch(_ size: Int, using rng: inout RandomState) -> (tokens: [Int], targets: [Int]) {
        var tokens: [Int] = [], targets: [Int] = []
        for _ in 0..<size {
            let source = (0..<length).map { _ in Int(rng.next() % UInt64(digits)) }
            let sequence = [bos] + source + [sep] + source.reversed()
            tokens += sequence.dropLast()
            // Predict position i + 1 from prefix ≤ i; score only the reversed half.
            targets += (1..<sequence.count).map { $0 > length + 1 ? sequence[$0] : -100 }
        }
        return (tokens, targets)
    }
}

/// A tiny causal language model: embedding → transformer blocks → RMSNorm → linear head.
final class TinyCausalLM: Module {
    let embedTokens: Embedding
    let layers: ModuleList<TransformerBlock>
    let norm: RMSNorm
    let lmHead: Linear

    init(vocabulary: Int, hidden: Int, layers count: Int, heads: Int, rng: inout RandomState) {
        embedTokens = Embedding(count: vocabulary, dimension: hidden, rng: &rng)
        embedTokens.weight.assign(embedTokens.weight.value * 0.1)
        let config = TransformerBlockConfiguration(hiddenSize: hidden, numHeads: heads, intermediateSize: 4 * hidden)
        layers = ModuleList((0..<count).map { _ in TransformerBlock(config, rng: &rng) })
        norm = RMSNorm(dimension: hidden)
        lmHead = Linear(inputSize: hidden, outputSize: vocabulary, bias: false, rng: &rng)
    }

    var submodules: [String: any Module] {
        ["embed_tokens": embedTokens, "layers": layers, "norm": norm, "lm_head": lmHead]
    }

    /// Logits [B, T, V] for tokens laid out as [B, T].
    func callAsFunction(_ tokens: [Int], batch: Int) -> Tensor {
        var h = embedTokens(tokens, shape: [batch, tokens.count / batch])
        for layer in layers.items { h = layer(h) }
        return lmHead(norm(h))
    }
}
