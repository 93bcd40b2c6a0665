/// Scores a batch of outputs: one `Float` per sample, or `nil` where the reward does not apply.
///
/// A reward is a plain, named, batched function (as in TRL's `reward_funcs`). It may be `async`
/// (a remote judge) and may throw; the trainer never crashes on a reward: a sample whose score
/// throws or is NaN/±∞ is dropped from its group with a logged warning.
///
/// ```swift
/// struct LengthReward: RewardFunction {
///     let name = "short"
///     func scores(for batch: [String]) async throws -> [Float?] {
///         batch.map { Float(-$0.count) }
///     }
/// }
/// ```
public protocol RewardFunction<Input>: Sendable {
    associatedtype Input
    /// The name metrics are logged under: `rewards/<name>/mean` and `rewards/<name>/std`.
    var name: String { get }
    /// One score per sample, in order; `nil` leaves this reward out for that sample.
    func scores(for batch: [Input]) async throws -> [Float?]
    /// Scores a batch without throwing, isolating failures to single samples. The default
    /// implementation calls ``scores(for:)``; ``WeightedRewards`` combines its terms here.
    func evaluate(_ batch: [Input]) async -> RewardEvaluation
}

/// The outcome of scoring one sample.
public enum SampleReward: Sendable, Equatable {
    /// A finite score.
    case score(Float)
    /// No reward applied to the sample: it is left out of its group's baseline and gets
    /// advantage 0.
    case notApplicable
    /// A reward threw or returned NaN/±∞: the sample is dropped from its group.
    case failed

    /// The score, if there is one.
    public var value: Float? {
        if case .score(let v) = self { return v }
        return nil
    }
}

/// One reward's raw scores in a batch, for logging under its own name.
public struct RewardComponent: Sendable {
    public var name: String
    public var scores: [Float?]
    public init(name: String, scores: [Float?]) { self.name = name; self.scores = scores }
}

/// What scoring a batch produced: the totals the advantages are computed from, each reward's own
/// scores, and warnings about dropped samples.
public struct RewardEvaluation: Sendable {
    public var totals: [SampleReward]
    public var components: [RewardComponent]
    public var warnings: [String]

    public init(totals: [SampleReward], components: [RewardComponent], warnings: [String]) {
        self.totals = totals
        self.components = components
        self.warnings = warnings
    }
}

extension RewardFunction {
    /// Calls ``scores(for:)`` on the whole batch; if that throws or returns the wrong number of
    /// scores, scores the samples one by one so that only the failing ones are dropped.
    public func evaluate(_ batch: [Input]) async -> RewardEvaluation {
        var warnings: [String] = []
        var raw: [Result<Float?, Error>]
        do {
            let s = try await scores(for: batch)
            if s.count == batch.count {
                raw = s.map { .success($0) }
            } else {
                warnings.append("reward '\(name)' returned \(s.count) scores for \(batch.count) samples; scoring them one by one")
                raw = await scoreOneByOne(batch)
            }
        } catch {
            warnings.append("reward '\(name)' threw on a batch of \(batch.count) (\(error)); scoring the samples one by one")
            raw = await scoreOneByOne(batch)
        }
        var totals: [SampleReward] = [], scores: [Float?] = []
        for (i, r) in raw.enumerated() {
            switch r {
            case .success(nil):
                totals.append(.notApplicable); scores.append(nil)
            case .success(let v?) where v.isFinite:
                totals.append(.score(v)); scores.append(v)
            case .success(let v?):
                warnings.append("reward '\(name)' returned \(v) for sample \(i); the sample is dropped from its group")
                totals.append(.failed); scores.append(nil)
            case .failure(let error):
                warnings.append("reward '\(name)' threw for sample \(i) (\(error)); the sample is dropped from its group")
                totals.append(.failed); scores.append(nil)
            }
        }
        return RewardEvaluation(totals: totals, components: [RewardComponent(name: name, scores: scores)], warnings: warnings)
    }

    private func scoreOneByOne(_ batch: [Input]) async -> [Result<Float?, Error>] {
        var out: [Result<Float?, Error>] = []
        for x in batch {
            do {
                let s = try await scores(for: [x])
                if s.count == 1 { out.append(.success(s[0])) } else {
                    out.append(.failure(RewardError.wrongCount(reward: name, expected: 1, got: s.count)))
                }
            } catch {
                out.append(.failure(error))
            }
        }
        return out
    }
}

public enum RewardError: Error, CustomStringConvertible {
    case wrongCount(reward: String, expected: Int, got: Int)
    public var description: String {
        switch self {
        case .wrongCount(let r, let e, let g): "reward '\(r)' returned \(g) scores for \(e) samples"
        }
    }
}

/// A reward made from a closure, for rewards that need no type of their own.
///
/// ```swift
/// let exact = FunctionReward<String>(name: "exact") { batch in batch.map { $0 == "4" ? 1 : 0 } }
/// ```
public struct FunctionReward<Input>: RewardFunction {
    public let name: String
    private let body: @Sendable ([Input]) async throws -> [Float?]

    public init(name: String, _ body: @escaping @Sendable ([Input]) async throws -> [Float?]) {
        self.name = name
        self.body = body
    }

    public func scores(for batch: [Input]) async throws -> [Float?] { try await body(batch) }
}

/// A weighted sum of rewards, r = Σ_k w_k·r_k over the rewards that apply to the sample (TRL's
/// `reward_weights` with `nansum`), each reward logged under its own name.
///
/// A sample that no reward applies to gets no score (advantage 0); a sample that any reward
/// failed on is dropped.
///
/// ```swift
/// let reward = WeightedRewards<Answer>([(Accuracy(), 1.0), (Format(), 0.2)])
/// ```
public struct WeightedRewards<Input>: RewardFunction {
    public let name: String
    /// The terms, in order.
    public let terms: [(reward: any RewardFunction<Input>, weight: Float)]

    public init(name: String = "weighted", _ terms: [(any RewardFunction<Input>, Float)]) {
        self.name = name
        self.terms = terms.map { (reward: $0.0, weight: $0.1) }
    }

    public func scores(for batch: [Input]) async throws -> [Float?] {
        await evaluate(batch).totals.map(\.value)
    }

    public func evaluate(_ batch: [Input]) async -> RewardEvaluation {
        var totals = [Double](repeating: 0, count: batch.count)
        var applies = [Bool](repeating: false, count: batch.count)
        var failed = [Bool](repeating: false, count: batch.count)
        var components: [RewardComponent] = [], warnings: [String] = []
        var usedNames: [String: Int] = [:]
        for (reward, weight) in terms {
            let e = await reward.evaluate(batch)
            warnings += e.warnings
            for (i, t) in e.totals.enumerated() where i < batch.count {
                switch t {
                case .score(let v): totals[i] += Double(weight) * Double(v); applies[i] = true
                case .notApplicable: break
                case .failed: failed[i] = true
                }
            }
            for var c in e.components {
                let n = usedNames[c.name, default: 0]
                usedNames[c.name] = n + 1
                if n > 0 { c.name += "_\(n + 1)" }
                components.append(c)
            }
        }
        let out: [SampleReward] = (0..<batch.count).map { i in
            if failed[i] { return .failed }
            if !applies[i] { return .notApplicable }
            let v = Float(totals[i])
            return v.isFinite ? .score(v) : .failed
        }
        return RewardEvaluation(totals: out, components: components, warnings: warnings)
    }
}
