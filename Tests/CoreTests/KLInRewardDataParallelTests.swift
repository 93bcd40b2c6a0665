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

    @Test(arguments: [false, true])
    func halvesWhitenAsTheWholeBatch(baseline: Bool) throws {
        // 4 groups of 3; a token segment then an SDE segment; trajectory 7 unscored.
        let n = 12
        let outcomes: [Float?] = (0..<n).map { $0 == 7 ? nil : Float(($0 * 37) % 11) / 10 }
        let segments: [[KLRewardAdvantage.Segment]] = (0..<n).map { i in
            [.init(expert: "lm", kl: (0..<(1 + i % 3)).map { Float(($0 + i) % 5) / 20 }),
             .init(expert: "dm", kl: [Float(i % 4) / 30, 0.02])]
        }
        let groups = (0..<n).map { $0 / 3 }
        let estimator: AdvantageEstimator = baseline ? .reinforcePlusPlusBaseline : .reinforcePlusPlus
        func run(_ range: Range<Int>, sum: @escaping (inout [Double]) -> Void) -> [[[Float]]] {
            KLRewardAdvantage.compute(
                outcomes: Array(outcomes[range]), included: Array(repeating: true, count: range.count),
                groups: Array(groups[range]), segments: Array(segments[range]), coefficient: 0.3,
                estimator: estimator, clip: nil, experts: ["lm", "dm"], sumAcrossProcesses: sum)
        }
        let whole = run(0..<n) { _ in }
        let meeting = PairSum()
        nonisolated(unsafe) var halves: [[[[Float]]]] = [[], []]
        let done = DispatchGroup()
        for (index, range) in [0..<6, 6..<12].enumerated() {
            done.enter()
            Thread {
                var calls = 0
                halves[index] = run(range) { values in
                    meeting.sum(&values, call: calls)
                    calls += 1
                }
                done.leave()
            }.start()
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        let joined = halves[0] + halves[1]
        for i in 0..<n { for j in 0..<2 { for (a, b) in zip(joined[i][j], whole[i][j]) { #expect(abs(a - b) < 1e-6) } } }
        // Without the sum each half whitens over itself, which differs.
        let alone = run(0..<6) { _ in }
        #expect(zip(alone[0][0], whole[0][0]).contains { abs($0 - $1) > 1e-3 })
    }
}
