import Foundation
import UniRLTensor

/// One measured row of a benchmark table.
struct BenchmarkRow: Codable {
    var name: String
    var pass: String
    var shape: String
    /// Median wall time of our implementation, milliseconds.
    var ms: Double
    /// The comparison point (PyTorch or raw BLAS) in milliseconds, when measured.
    var referenceMs: Double?
    var referenceName: String?
    var gflops: Double?
    /// Peak resident memory of the process while the row ran (VmHWM after resetting it), MiB.
    var peakRSSMiB: Double?
    /// The same for the reference's process (the Python script's VmHWM, reset before the row), MiB.
    var referencePeakRSSMiB: Double?
    /// The reference's GFLOP/s on the same matrix-product work (``gflops`` is ours).
    var referenceGFLOPS: Double?

    enum CodingKeys: String, CodingKey {
        case name, pass, shape, ms, gflops
        case referenceMs = "reference_ms", referenceName = "reference", peakRSSMiB = "peak_rss_mib"
        case referencePeakRSSMiB = "reference_peak_rss_mib", referenceGFLOPS = "reference_gflops"
    }
}

struct BenchmarkReport: Codable {
    var suite: String
    var threads: Int
    var machine: String
    var torchVersion: String?
    var rows: [BenchmarkRow]

    enum CodingKeys: String, CodingKey {
        case suite, threads, machine, rows
        case torchVersion = "torch_version"
    }

    /// A Markdown table: ours, the reference, and ours as a fraction of the reference's speed (and
    /// the peak resident memory, when a row measured it).
    func table() -> String {
        let memory = rows.contains { $0.peakRSSMiB != nil || $0.referencePeakRSSMiB != nil }
        let rates = rows.contains { $0.referenceGFLOPS != nil }
        let header = "| case | pass | shape | UniRL ms | reference | reference ms | speed vs reference |"
        var lines = [header + (memory ? " peak RSS MiB UniRL / reference |" : "") + (rates ? " GFLOP/s UniRL / reference |" : ""),
                     "|---|---|---|---:|---|---:|---:|" + (memory ? "---:|" : "") + (rates ? "---:|" : "")]
        let mib = { (v: Double?) in v.map { String(format: "%.0f", $0) } ?? "—" }
        let rate = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "—" }
        for r in rows {
            let ref = r.referenceMs.map { String(format: "%.3f", $0) } ?? "—"
            let ratio = r.referenceMs.map { String(format: "%.2f×", $0 / r.ms) } ?? "—"
            let ms = String(format: "%.3f", r.ms)
            let rss = memory ? " \(mib(r.peakRSSMiB)) / \(mib(r.referencePeakRSSMiB)) |" : ""
            let flops = rates ? " \(rate(r.gflops)) / \(rate(r.referenceGFLOPS)) |" : ""
            lines.append("| \(r.name) | \(r.pass) | \(r.shape) | \(ms) | \(r.referenceName ?? "—") | \(ref) | \(ratio) |" + rss + flops)
        }
        return lines.joined(separator: "\n")
    }
}

/// Median wall time of `body` in milliseconds over `repeats` runs after `warmup` runs.
func medianMilliseconds(warmup: Int = 3, repeats: Int = 10, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    times.sort()
    return times[times.count / 2]
}

/// The CPU model, from /proc/cpuinfo, and the OpenBLAS kernels in use.
func machineDescription() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last
    let cpu = model.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, OpenBLAS \(Parallel.blasCore) kernels"
}

/// The message of a benchmark asked for a thread count the kernels do not use.
func threadCountMismatch(_ threads: Int) -> String {
    "our kernels use \(Parallel.threadCount) threads; run with UNIRL_NUM_THREADS=\(threads) to benchmark \(threads)"
}

/// `value` as pretty-printed JSON with sorted keys (the `--json` output of every bench command).
func prettyJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension Array where Element == BenchmarkRow {
    /// Copies into each row the reference time of the same case and pass from a Python run, labelled `label`.
    mutating func fillReference(from output: ReferenceBenchmark.Output, label: String) {
        for i in indices {
            if let r = output.result(self[i].name, pass: self[i].pass) {
                self[i].referenceMs = r.ms
                self[i].referenceName = label
                self[i].referencePeakRSSMiB = r.peakRSSMiB
                // Rates on the reference's count of the work, which both sides do.
                if let g = r.gflop, g > 0 {
                    self[i].gflops = g / self[i].ms * 1000
                    self[i].referenceGFLOPS = g / r.ms * 1000
                }
            }
        }
    }
}
