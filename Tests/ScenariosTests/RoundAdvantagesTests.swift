import Testing
import UniRLScenarios

/// R3's per-round advantages (``RoundAdvantages``) against hand computations.
@Suite struct RoundAdvantagesTests {
    static func close(_ a: [[Float]], _ b: [[Float]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) < 1e-6 } }
    }

    /// Three samples, two rounds. Round 0: rewards 1, 0, 0 (mean 1/3) → 2/3, −1/3, −1/3.
    /// Round 1: improvements 0, 1, 0 (mean 1/3) → −1/3, 2/3, −1/3.
    @Test func twoRoundsByHand() {
        let a = RoundAdvantages.compute([[1, 1], [0, 1], [0, 0]])
        let third: Float = 1.0 / 3
        let expected: [[Float]] = [[2 * third, -third], [-third, 2 * third], [-third, -third]]
        #expect(Self.close(a, expected), "\(a)")
    }

    /// Four samples, three rounds, partial scores. Round 0: 0.5, 0.25, 1, 0.25 (mean 0.5) →
    /// 0, −0.25, 0.5, −0.25. Round 1 improvements: 0.5, 0, −0.5, 0.75 (mean 0.1875) → 0.3125,
    /// −0.1875, −0.6875, 0.5625. Round 2 (the second sample stopped after round 1, so it keeps
    /// 0.25): improvements −1, 0, 0.5, 0 (mean −0.125) → −0.875, 0.125, 0.625, 0.125.
    @Test func threeRoundsWithAnEarlyStopByHand() {
        let a = RoundAdvantages.compute([[0.5, 1, 0], [0.25, 0.25], [1, 0.5, 1], [0.25, 1, 1]])
        let expected: [[Float]] = [[0, 0.3125, -0.875], [-0.25, -0.1875, 0.125], [0.5, -0.6875, 0.625], [-0.25, 0.5625, 0.125]]
        #expect(Self.close(a, expected), "\(a)")
    }

    /// Every round's advantages sum to zero over the group (so a trainer's further group-mean
    /// subtraction over all rounds together changes nothing), and equal rewards give zeros.
    @Test func eachRoundIsCentredAndTiesGiveZero() {
        let a = RoundAdvantages.compute([[0.3, 0.9], [0.7, 0.2], [0.1, 0.4]])
        for k in 0..<2 { #expect(abs(a.map { $0[k] }.reduce(0, +)) < 1e-6) }
        #expect(RoundAdvantages.compute([[1, 1], [1, 1]]).allSatisfy { $0 == [0, 0] })
        #expect(RoundAdvantages.compute([]).isEmpty)
    }
}
