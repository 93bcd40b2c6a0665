import CBLAS
import CUniRLKernels
import Dispatch
import Foundation

/// Splits heavy kernels across the machine's cores.
///
/// Work is cut into a fixed number of contiguous chunks that depends only on the problem size
/// and ``threadCount``, and every output element is written by exactly one chunk in a fixed
/// order, so results are bit-identical from run to run at the same thread count.
public enum Parallel {
    /// Worker threads for our own kernels: `UNIRL_NUM_THREADS` if set, else the core count.
    ///
    /// Reading it also pins OpenBLAS to one thread: we split large products across cores
    /// ourselves (see ``sgemm(_:transposeA:_:transposeB:_:m:n:k:accumulate:alpha:parallel:)``), and
    /// OpenBLAS's own pool would otherwise spin against our workers. Every BLAS call goes through
    /// ``sgemm(_:transposeA:_:transposeB:_:m:n:k:accumulate:alpha:parallel:)``, which reads this first,
    /// so it is also where OpenBLAS's kernels are re-chosen when its CPU detection fell back to old
    /// ones (``blasCore``).
    public static let threadCount: Int = {
        unirl_blas_upgrade_kernels()
        openblas_set_num_threads(1)
        if let s = ProcessInfo.processInfo.environment["UNIRL_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// The kernel set OpenBLAS runs (its core name, e.g. "SkylakeX"), after ``threadCount`` has
    /// re-chosen it where OpenBLAS's detection did not know the CPU.
    public static var blasCore: String {
        _ = threadCount
        return openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// The persistent workers behind ``forEachRange(_:costPerItem:_:)``.
    static let pool = WorkerPool(workers: threadCount - 1)

    /// True on a worker of ``forEachRange(_:costPerItem:_:)``: nested kernels then run serially.
    @TaskLocal public static var isInsideParallelRegion = false

    /// Runs `body` over `0..<count`, split into at most ``threadCount`` contiguous ranges when
    /// `count * costPerItem` is large enough to pay for the threads. `body` must write disjoint
    /// memory for disjoint ranges.
    public static func forEachRange(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let minimumWork = 32_768
        let chunks = isInsideParallelRegion ? 1 : Swift.min(threadCount, count, Swift.max(1, (count &* costPerItem) / minimumWork))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        pool.run(chunks: chunks) { c in
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Carries a value across a concurrency boundary whose safety the caller guarantees.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
