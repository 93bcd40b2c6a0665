import Foundation

/// A value handed to a detached task that the caller no longer touches until it comes back.
private struct Handoff<T>: @unchecked Sendable { let value: T }

/// Resumes a continuation once: from whichever of the reward and the timer finishes first.
private final class OnceContinuation: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<RewardEvaluation?, Never>?

    init(_ c: CheckedContinuation<RewardEvaluation?, Never>) { continuation = c }

    func resume(_ value: RewardEvaluation?) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}

extension RewardFunction {
    /// ``evaluate(_:)`` bounded by `seconds` (0 or less: no bound). When the reward has not
    /// answered in time, returns nil: the caller marks the batch failed and goes on. The late
    /// evaluation is cancelled; a reward stuck in code that ignores cancellation keeps its
    /// thread until it returns, and its answer is dropped.
    public func evaluate(_ batch: [Input], timeout seconds: Double) async -> RewardEvaluation? {
        guard seconds > 0 else { return await evaluate(batch) }
        let input = Handoff(value: batch)
        let reward = Handoff(value: self)
        return await withCheckedContinuation { (c: CheckedContinuation<RewardEvaluation?, Never>) in
            let once = OnceContinuation(c)
            let work = Task.detached { once.resume(await reward.value.evaluate(input.value)) }
            // The timer runs on Dispatch, not on the cooperative pool a stuck reward may be holding.
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                work.cancel()
                once.resume(nil)
            }
        }
    }
}
