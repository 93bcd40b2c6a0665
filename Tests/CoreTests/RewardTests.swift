import Testing
@testable import UniRLCore

struct Flaky: RewardFunction {
    let name = "flaky"
    struct Boom: Error {}
    func scores(for batch: [Int]) async throws -> [Float?] {
        if batch.contains(13) { throw Boom() }
        return batch.map { $0 == 7 ? .nan : ($0 < 0 ? nil : Float($0)) }
    }
}

@Suite struct RewardTests {
    @Test func failuresAreIsolatedToSamples() async {
        let e = await Flaky().evaluate([1, 13, 7, -1, 2])
        #expect(e.totals == [.score(1), .failed, .failed, .notApplicable, .score(2)])
        #expect(e.warnings.count == 3)   // the batch threw; sample 1 threw; sample 2 was NaN
        #expect(e.components.map(\.name) == ["flaky"])
    }

    @Test func weightedCompositionLogsEachReward() async throws {
        let a = FunctionReward<Int>(name: "a") { b in b.map { $0 == 1 ? nil : Float($0) } }
        let b = FunctionReward<Int>(name: "b") { b in b.map { $0 == 2 ? 0.5 : nil } }
        let w = WeightedRewards<Int>([(a, 1), (b, 2)])
        let e = await w.evaluate([1, 2, 3])
        // sample 0: no reward applies; sample 1: 2 + 2·0.5; sample 2: 3
        #expect(e.totals == [.notApplicable, .score(3), .score(3)])
        #expect(e.components.map(\.name) == ["a", "b"])
        #expect(e.components[1].scores == [nil, 0.5, nil])
        #expect(try await w.scores(for: [2]) == [3])
        let withFailure = await WeightedRewards<Int>([(a, 1), (Flaky(), 1)]).evaluate([7, 3])
        #expect(withFailure.totals == [.failed, .score(6)])
    }
}
