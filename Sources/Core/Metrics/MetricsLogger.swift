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

    public init(sinks: [any MetricsSink], progressBar: ProgressBar? = nil,
                logger: Logger = Logger(label: "unirl.metrics"), logEvery: Int = 10) {
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
        let enabled: Bool? = switch run.progressBar {
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

    public func close() {
        progressBar?.finish()
        for s in sinks { s.close() }
    }
}
