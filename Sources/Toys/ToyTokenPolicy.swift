import Foundation
import UniRLCore
import UniRLTensor

/// A tiny autoregressive token policy: an MLP over one-hot features of the (prompt, position)
/// pair and of the previous token, emitting `length` tokens from a vocabulary of `vocabularySize`.
///
///     π(token_k | prompt, token_{k−1}) = softmax(MLP([onehot(prompt, k), onehot(token_{k−1})]))
///
/// It is the discrete expert of the bundled toy scenario (``ToyTokenScenario``) and of the tests.
public final class ToyTokenPolicy: DiscretePolicyExpert {
    public typealias Condition = Int

    /// The tokens of one sampled sequence and their log-probabilities.
    public struct Rollout: RecordedActions, Sendable {
        public let tokens: [Int]
        public let actionLogProbs: [Float]
        /// Whether the sequence counts as cut at the length limit (see ``ToyTokenPolicy/truncationToken``).
        public var isTruncated = false
    }

    public let name: String
    public let promptCount: Int
    public let vocabularySize: Int
    public let length: Int
    public let network: ToyMLP
    public var module: any Module { network }
    /// A sequence that ends with this token counts as truncated (a stand-in for a language model
    /// that reached its length limit without an end-of-sequence token). Default none.
    public var truncationToken: Int?

    public init(
        name: String = "lm", promptCount: Int, vocabularySize: Int, length: Int, hidden: Int = 32,
        rng: inout RandomState
    ) {
        self.name = name
        self.promptCount = promptCount
        self.vocabularySize = vocabularySize
        self.length = length
        network = ToyMLP(sizes: [promptCount * length + vocabularySize + 1, hidden, vocabularySize], rng: &rng)
    }

    /// Log-probabilities over the vocabulary, `[rows, vocabularySize]`, for each row's
    /// (prompt, position, previous token); previous token −1 means "start".
    public func logProbabilities(prompts: [Int], positions: [Int], previous: [Int]) -> Tensor {
        let width = promptCount * length + vocabularySize + 1
        var features = [Float](repeating: 0, count: prompts.count * width)
        for r in prompts.indices {
            features[r * width + prompts[r] * length + positions[r]] = 1
            features[r * width + promptCount * length + previous[r] + 1] = 1
        }
        return network(Tensor(shape: [prompts.count, width], scalars: features)).logSoftmax(axis: -1)
    }

    public func sample(_ conditions: [Int], using rng: inout RandomState) throws -> [Rollout] {
        let n = conditions.count
        var tokens = [[Int]](repeating: [], count: n), logProbs = [[Float]](repeating: [], count: n)
        var previous = [Int](repeating: -1, count: n)
        for k in 0..<length {
            let lp = withoutGrad {
                logProbabilities(prompts: conditions, positions: Array(repeating: k, count: n), previous: previous)
            }.scalars
            for r in 0..<n {
                let row = lp[(r * vocabularySize)..<((r + 1) * vocabularySize)]
                let u = rng.nextUniform()
                var cumulative: Float = 0, choice = vocabularySize - 1
                for (j, l) in row.enumerated() {
                    cumulative += Foundation.exp(l)
                    if u < cumulative { choice = j; break }
                }
                tokens[r].append(choice)
                logProbs[r].append(row[row.startIndex + choice])
                previous[r] = choice
            }
        }
        return (0..<n).map {
            let truncated = truncationToken != nil && tokens[$0].last == truncationToken
            return Rollout(tokens: tokens[$0], actionLogProbs: logProbs[$0], isTruncated: truncated)
        }
    }

    /// Teacher-forced replay of every rollout in one batch of rows.
    public func replay(_ rollouts: [Rollout], given conditions: [Int]) throws -> [TokenReplay] {
        var prompts: [Int] = [], positions: [Int] = [], previous: [Int] = [], picks: [Int] = []
        for (r, c) in zip(rollouts, conditions) {
            for (k, token) in r.tokens.enumerated() {
                picks.append((prompts.count) * vocabularySize + token)
                prompts.append(c); positions.append(k); previous.append(k == 0 ? -1 : r.tokens[k - 1])
            }
        }
        let lp = logProbabilities(prompts: prompts, positions: positions, previous: previous)
        let chosen = lp.reshaped([lp.elementCount]).indexSelect(axis: 0, picks)
        // On the tape, so that an entropy bonus (`entropy_coeff`) can train it.
        let entropy = -(lp.exp() * lp).sum(axis: 1)
        var out: [TokenReplay] = [], offset = 0
        for r in rollouts {
            let range = offset..<(offset + r.tokens.count)
            out.append(TokenReplay(logProbs: chosen.slice(axis: 0, range), entropy: entropy.slice(axis: 0, range)))
            offset += r.tokens.count
        }
        return out
    }

    /// The most likely token at every position, greedily.
    public func greedy(prompt: Int) -> [Int] {
        var previous = -1, out: [Int] = []
        for k in 0..<length {
            let lp = withoutGrad { logProbabilities(prompts: [prompt], positions: [k], previous: [previous]) }.scalars
            let best = lp.indices.max { lp[$0] < lp[$1] }!
            out.append(best)
            previous = best
        }
        return out
    }
}
