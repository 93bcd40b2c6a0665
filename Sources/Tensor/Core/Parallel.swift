import Dispatch
import Foundation
import CBLAS

/// Splits heavy kernels across the machine's cores.
///
/// Work is cut into a fixed number of contiguous chunks that depends only on the problem size
/// and ``threadCount``, and every output element is written by exactly one chunk in a fixed
/// order, so results are bit-identical from run to run at the same thread count.
public enum Parallel {
    /// Worker threads for our own kernels: `UNIRL_NUM_THREADS` if set, else the core count.
    public static let threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["UNIRL_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body` over `0..<count`, split into at most ``threadCount`` contiguous ranges when
    /// `count * costPerItem` is large enough to pay for the threads. `body` must write disjoint
    /// memory for disjoint ranges.
    @inlinable
    public static func forEachRange(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let minimumWork = 32_768
        let chunks = Swift.min(threadCount, count, Swift.max(1, (count &* costPerItem) / minimumWork))
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks, hi = count * (c + 1) / chunks
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    /// Runs `body` with OpenBLAS limited to one thread, for BLAS calls made from inside
    /// ``forEachRange(_:costPerItem:_:)`` (nested thread pools only oversubscribe the cores).
    @inlinable
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        let previous = openblas_get_num_threads()
        if previous == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
    }
}

/// Carries a value across a concurrency boundary whose safety the caller guarantees.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
