import Foundation
import Testing
import UniRLTensor
import UniRLToys
@testable import UniRLCore

/// Rank 0 of `size` ranks that all hold the same values as it: sums are `size` times the input,
/// gathers `size` copies. `otherHash` replaces the last rank's gathered values when set.
private final class MirrorCollective: Collective {
    let rank = 0
    let size: Int
    var otherValues: [Double]?
    private(set) var floatReductions: [Int] = []

    init(size: Int, otherValues: [Double]? = nil) {
        self.size = size
        self.otherValues = otherValues
    }

    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        floatReductions.append(buffer.count)
        for i in buffer.indices { buffer[i] *= Float(size) }
    }
    func allReduceSum(_ values: inout [Double]) throws { values = values.map { $0 * Double(size) } }
    func broadcast(_ bytes: inout [UInt8], root: Int) throws {}
    func barrier() throws {}
    func allGather(_ values: [Double]) throws -> [[Double]] {
        var all = [[Double]](repeating: values, count: size)
        if let otherValues { all[size - 1] = otherValues }
        return all
    }
}

@Suite("Data parallelism without a transport")
struct DataParallelTests {
    @Test("the ranks' shares cover every prompt once, complete groups each")
    func sharesPartitionThePrompts() {
        for size in 1...5 {
            for count in size...12 {
                let shares = (0..<size).map { DataParallel.share(of: count, rank: $0, size: size) }
                #expect(shares.flatMap { Array($0) } == Array(0..<count))
                #expect(shares.allSatisfy { !$0.isEmpty })
                #expect(shares.map(\.count).max()! - shares.map(\.count).min()! <= 1)
            }
        }
    }

    @Test("gradients are summed in buckets; a parameter without a gradient anywhere keeps none")
    func gradientsAreSummedInBuckets() throws {
        let shapes = [[2], [5], [1], [3]]
        let parameters = shapes.map { Parameter(Tensor.zeros($0)) }
        for (k, p) in parameters.enumerated() where k != 2 {
            p.accumulateGrad(Tensor(shape: p.shape, scalars: (0..<p.value.elementCount).map { Float(k * 10 + $0) }))
        }
        let collective = MirrorCollective(size: 2)
        try DataParallel(collective: collective, bucketElements: 4).sumGradients(parameters)
        for (k, p) in parameters.enumerated() where k != 2 {
            #expect(p.grad?.scalars == (0..<p.value.elementCount).map { Float(2 * (k * 10 + $0)) })
        }
        #expect(parameters[2].grad == nil)
        // [2] alone (2 + 5 > 4), [5] alone in slices of 4 and 1, then [3].
        #expect(collective.floatReductions == [2, 4, 1, 3])
    }

    @Test("different weights on another rank stop the run with the step and the hashes")
    func divergedReplicasStopTheRun() throws {
        let same = DataParallel(collective: MirrorCollective(size: 2))
        try same.checkReplicasAgree(hash: 0x1234_5678_9abc_def0, step: 3)
        let other = DataParallel(collective: MirrorCollective(size: 2, otherValues: [1, 2]))
        #expect(throws: DataParallelError.replicasDiverged(step: 3, hashes: [0x1234_5678_9abc_def0, 1 << 32 | 2])) {
            try other.checkReplicasAgree(hash: 0x1234_5678_9abc_def0, step: 3)
        }
    }

    @Test("the weight hash sees a one-bit change")
    func hashSeesOneBit() {
        let a = Tensor(shape: [3], scalars: [1, 2, 3])
        let b = Tensor(shape: [3], scalars: [1, 2, Float(bitPattern: Float(3).bitPattern ^ 1)])
        #expect(DataParallel.hash([a]) != DataParallel.hash([b]))
        #expect(DataParallel.hash([a]) == DataParallel.hash([Tensor(shape: [3], scalars: [1, 2, 3])]))
    }

    @Test("fewer prompts per step than ranks is refused before any rollout")
    func fewerPromptsThanRanksIsRefused() async throws {
        var config = tokenConfiguration(steps: 1)
        config.trainer.promptsPerStep = 2
        let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
        trainer.dataParallel = DataParallel(collective: MirrorCollective(size: 4))
        await #expect(throws: DataParallelError.fewerPromptsThanRanks(prompts: 2, ranks: 4)) { try await trainer.trainStep() }
    }

    /// With one process the data-parallel layout (a generator per group) is a valid run of its
    /// own: deterministic, and its weights change; gradient accumulation only regroups sums.
    @Test("one-process data parallelism: deterministic, and accumulation only regroups the sums")
    func singleProcessLayout() async throws {
        func weights(accumulation: Int) async throws -> [Float] {
            var config = tokenConfiguration(steps: 3)
            config.trainer.gradientAccumulation = accumulation
            let trainer = try GRPOTrainer(scenario: makeTokenScenario(), configuration: config)
            trainer.dataParallel = DataParallel(collective: SingleProcessCollective(), weightCheckInterval: 1)
            for _ in 0..<3 { try await trainer.trainStep() }
            return trainer.checkpoint().weights.keys.sorted().flatMap { trainer.checkpoint().weights[$0]!.scalars }
        }
        let start = try GRPOTrainer(scenario: makeTokenScenario(), configuration: tokenConfiguration(steps: 3))
        let initial = start.checkpoint().weights.keys.sorted().flatMap { start.checkpoint().weights[$0]!.scalars }
        let a = try await weights(accumulation: 1), b = try await weights(accumulation: 1), c = try await weights(accumulation: 2)
        #expect(a == b)
        #expect(zip(a, initial).map { abs($0 - $1) }.max()! > 1e-4)
        #expect(zip(a, c).map { abs($0 - $1) }.max()! <= 1e-5)
    }
}
