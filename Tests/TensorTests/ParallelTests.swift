import Foundation
import Synchronization
import Testing
@testable import UniRLTensor

@Suite struct ParallelTests {
    /// Every index is visited exactly once, for sizes around the chunking thresholds.
    @Test func everyIndexOnce() {
        for count in [0, 1, 2, 3, 1000, 65_537, 200_003] {
            let hits = UnsafeMutablePointer<Int32>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            defer { hits.deallocate() }
            Parallel.forEachRange(count, costPerItem: 8) { r in for i in r { hits[i] += 1 } }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count)")
        }
    }

    /// Thousands of back-to-back jobs from several caller threads at once all complete correctly.
    @Test func concurrentCallersAndBackToBackJobs() async {
        await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    var ok = true
                    for job in 0..<500 {
                        let n = 50_000 + caller * 7 + job
                        let buffer = UnsafeMutablePointer<Int>.allocate(capacity: n)
                        defer { buffer.deallocate() }
                        Parallel.forEachRange(n, costPerItem: 4) { r in for i in r { buffer[i] = i &* 3 } }
                        if buffer[n - 1] != (n - 1) * 3 || buffer[0] != 0 || buffer[n / 2] != (n / 2) * 3 { ok = false }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    /// Work nested inside a parallel region runs serially on the worker that reached it.
    @Test func nestedRegionsRunSerially() {
        let nested = Atomic<Int>(0)
        Parallel.forEachRange(4, costPerItem: 1 << 20) { r in
            for _ in r {
                #expect(Parallel.isInsideParallelRegion || Parallel.threadCount == 1)
                Parallel.forEachRange(10, costPerItem: 1 << 20) { inner in nested.add(inner.count, ordering: .relaxed) }
            }
        }
        #expect(nested.load(ordering: .relaxed) == 40)
    }
}
