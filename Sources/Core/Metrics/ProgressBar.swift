import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error:
///
///     step  12/100 [#####-----------------]  12% reward 0.531 kl 0.0012 | 0.84 s/step, ETA 1:14
///
/// Drawn only when standard error is a terminal, unless forced.
public final class ProgressBar {
    public let total: Int
    public let isEnabled: Bool
    private let width: Int
    private let keys: [String]
    private var start: Date?
    private var firstStep = 0
    private let output: (String) -> Void

    /// - Parameters:
    ///   - enabled: `nil` draws only when standard error is a TTY.
    ///   - keys: metrics shown after the bar, when present.
    ///   - output: where the text goes (standard error by default).
    public init(total: Int, enabled: Bool? = nil, width: Int = 24, keys: [String] = ["reward", "kl"],
                output: ((String) -> Void)? = nil) {
        self.total = total
        self.isEnabled = enabled ?? (isatty(2) != 0)
        self.width = width
        self.keys = keys
        self.output = output ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Redraws the bar after `step` of ``total`` steps.
    public func update(step: Int, metrics: [String: Double] = [:]) {
        guard isEnabled else { return }
        if start == nil { start = Date(); firstStep = step - 1 }
        output("\r" + line(step: step, metrics: metrics) + "\u{1B}[K")
    }

    /// Ends the line.
    public func finish() {
        guard isEnabled, start != nil else { return }
        output("\n")
    }

    /// The text of the bar (without terminal control codes).
    public func line(step: Int, metrics: [String: Double]) -> String {
        let fraction = total > 0 ? min(1, Double(step) / Double(total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let digits = String(total).count
        var s = "step " + String(repeating: " ", count: max(0, digits - String(step).count)) + "\(step)/\(total) ["
        s += String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        s += String(format: "%3d%%", Int((fraction * 100).rounded(.down)))
        for k in keys { if let v = metrics[k] { s += " \(k) " + String(format: "%.4g", v) } }
        if let start, step > firstStep {
            let perStep = Date().timeIntervalSince(start) / Double(step - firstStep)
            let eta = Int((perStep * Double(max(0, total - step))).rounded())
            s += String(format: " | %.2f s/step, ETA %d:%02d", perStep, eta / 60, eta % 60)
        }
        return s
    }
}
