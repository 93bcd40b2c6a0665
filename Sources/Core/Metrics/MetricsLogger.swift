import Foundation
import Logging

/// Sends each step's metrics to every sink (JSONL, TensorBoard), the progress bar, and every
/// `logEvery` steps a line through swift-log (only when no progress bar is drawn: the bar shows
/// the same numbers and the two would interleave on the terminal).
public final class MetricsLogger {
    public private(set) var sinks: [any MetricsSink]
    public let progressBar: ProgressBar?
    public var logger: Logger
    public var logEvery: Int
    /// Metrics of every logged step, in memory (for tests and callers that want the history).
    public private(set) var history: [(step: Int, metrics: [String: Double])] = []
    /// The writes that failed (a full disk), in order: the step and the error.
    public private(set) var lostWrites: [(step: Int, error: String)] = []

    public init(
        sinks: [any MetricsSink], progressBar: ProgressBar? = nil,
        logger: Logger = Logger(label: "unirl.metrics"), logEvery: Int = 10
    ) {
        self.sinks = sinks
        self.progressBar = progressBar
        self.logger = logger
        self.logEvery = logEvery
    }

    /// The sinks a run's settings ask for, writing into `directory`.
    public convenience init(run: RunSettings, directory: URL, logger: Logger = Logger(label: "unirl.metrics")) throws {
        var sinks: [any MetricsSink] = []
        if run.jsonl { sinks.append(try JSONLWriter(url: directory.appendingPathComponent("metrics.jsonl"))) }
        if run.tensorboard { sinks.append(try TensorBoardWriter(directory: directory)) }
        let enabled: Bool? =
            switch run.progressBar {
            case .auto: nil
            case .always: true
            case .never: false
            }
        let bar = ProgressBar(total: run.steps, enabled: enabled)
        self.init(sinks: sinks, progressBar: bar.isEnabled ? bar : nil, logger: logger, logEvery: run.logEvery)
    }

    public func log(step: Int, metrics: [String: Double]) {
        history.append((step, metrics))
        for sink in sinks {
            do { try sink.write(step: step, metrics: metrics) } catch {
                lostWrites.append((step, "\(error)"))
                logger.warning("could not write metrics of step \(step): \(error)")
            }
        }
        progressBar?.update(step: step, metrics: metrics)
        if progressBar == nil && logEvery > 0 && step % logEvery == 0 {
            let shown = ["reward", "reward_std", "kl", "loss", "grad_norm"].compactMap { k in
                metrics[k].map { "\(k)=\(String(format: "%.4g", $0))" }
            }
            logger.info("step \(step): \(shown.joined(separator: " "))")
        }
    }

    /// A run resumed after `step` steps: every sink forgets later steps, and ``history`` starts
    /// with the steps ≤ `step` that `metrics.jsonl` holds, so that curves and summaries cover the
    /// whole run.
    public func resume(afterStep step: Int) throws {
        for sink in sinks { try sink.resume(afterStep: step) }
        guard let jsonl = sinks.lazy.compactMap({ $0 as? JSONLWriter }).first,
            let rows = try? JSONLWriter.read(jsonl.url)
        else { return }
        let earlier = rows.compactMap { row -> (step: Int, metrics: [String: Double])? in
            guard let s = row["step"].map(Int.init), s <= step else { return nil }
            var m = row
            m["step"] = nil
            m["wall_time"] = nil
            return (s, m)
        }
        history = earlier + history.filter { $0.step > step }
    }

    /// A summary of the lost writes for the end of a run, or nil when none was lost.
    public var lostWritesReport: String? {
        guard let first = lostWrites.first, let last = lostWrites.last else { return nil }
        let steps = Set(lostWrites.map(\.step)).count
        return "METRICS LOST: \(lostWrites.count) write(s) failed, for \(steps) step(s) between \(first.step) and \(last.step); "
            + "first error: \(first.error)"
    }

    public func close() {
        progressBar?.finish()
        for s in sinks { s.close() }
    }
}

/// A run stopped because it could not record its metrics (`run.on_metrics_error: fail`).
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    case lost(step: Int, reason: String)

    public var description: String {
        switch self {
        case .lost(let step, let reason):
            "stopping: the metrics of step \(step) could not be recorded (\(reason)); the checkpoints written so far are "
                + "complete; free space and resume with run.resume_from=latest, or set run.on_metrics_error=warn to go on"
        }
    }
}
