import Foundation
import Testing

@testable import UniRLCore

/// `trainer.kl_in_reward` under data parallelism: two processes holding half the groups each whiten
/// with the statistics of the whole batch, so their advantages equal one process's.
@Suite struct KLInRewardDataParallelTests {
    /// Two "processes" on two threads meeting in an element-wise sum, as an all-reduce does: the
    /// k-th call of each meets the k-th call of the other.
    final class PairSum: @unchecked Sendable {
        private let condition = NSCondition()
        private var slots: [Int: [[Double]]] = [:]

        func sum(_ values: inout [Double], call: Int) {
            condition.lock()
            defer { condition.unlock() }
            slots[call, default: []].append(values)
            condition.broadcast()
            while slots[call]!.count < 2 { condition.wait() }
            values = zip(slots[call]![0], slots[call]![1]).map { $0 + $1 }
        }
    }

    /// 4 groups of 3; a token segment (1–3 actions) then an SDE segment (2 steps); trajectory 7 unscored.
    static func batch() -> (outcomes: [Float?], segments: [[KLRewardAdvantage.Segment]], groups: [Int]) {
        var outcomes: [Float?] = []
        var segments: [[KLRewardAdvantage.Segment]] = []
        for i in 0..<12 {
            let outcome: Float = Float((i * 37) % 11) / 10
            outcomes.append(i == 7 ? nil : outcome)
            var tokenKL: [Float] = []
            for k in 0..<(1 + i % 3) { tokenKL.append(Float((k + i) % 5) / 20) }
            let stepKL: [Float] = [Float(i % 4) / 30, 0.02]
            segments.append([.init(expert: "lm", kl: tokenKL), .init(expert: "dm", kl: stepKL)])
        }
        return (outcomes, segments, (0..<12).map { $0 / 3 })
    }

    static func advantages(
        _ range: Range<Int>, baseline: Bool, sum: (inout [Double]) -> Void
    ) -> [[[Float]]] {
        let (outcomes, segments, groups) = batch()
        return KLRewardAdvantage.compute(
            outcomes: Array(outcomes[range]), included: Array(repeating: true, count: range.count),
            groups: Array(groups[range]), segments: Array(segments[range]), coefficient: 0.3,
            estimator: baseline ? .reinforcePlusPlusBaseline : .reinforcePlusPlus, clip: nil, experts: ["lm", "dm"],
            sumAcrossProcesses: sum)
    }

    @Test(arguments: [false, true])
    func halvesWhitenAsTheWholeBatch(baseline: Bool) throws {
        let whole = Self.advantages(0..<12, baseline: baseline) { _ in }
        let meeting = PairSum()
        let results = Results()
        let done = DispatchGroup()
        for (index, range) in [0..<6, 6..<12].enumerated() {
            done.enter()
            Thread {
                var calls = 0
                let half = Self.advantages(range, baseline: baseline) { values in
                    meeting.sum(&values, call: calls)
                    calls += 1
                }
                results.set(index, half)
                done.leave()
            }.start()
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        let joined = results.get(0) + results.get(1)
        #expect(joined.count == 12)
        for i in joined.indices {
            for j in 0..<2 { for (a, b) in zip(joined[i][j], whole[i][j]) { #expect(abs(a - b) < 1e-6) } }
        }
        // Without the sum each half whitens over itself, which differs.
        let alone = Self.advantages(0..<6, baseline: baseline) { _ in }
        #expect(zip(alone[0][0], whole[0][0]).contains { abs($0 - $1) > 1e-3 })
    }

    /// The two halves' results, written from two threads.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var halves: [Int: [[[Float]]]] = [:]
        func set(_ index: Int, _ value: [[[Float]]]) { lock.withLock { halves[index] = value } }
        func get(_ index: Int) -> [[[Float]]] { lock.withLock { halves[index] ?? [] } }
    }
}
