import Foundation

/// Where per-step metrics go.
public protocol MetricsSink: AnyObject {
    /// Records the metrics of one step.
    func write(step: Int, metrics: [String: Double]) throws
    /// Flushes and closes.
    func close()
}

/// Appends one JSON object per step to a file: `{"step": 3, "wall_time": …, "reward": 0.52, …}`,
/// keys sorted; non-finite values are written as `null`. Appending continues a resumed run's file.
public final class JSONLWriter: MetricsSink {
    public let url: URL
    private let handle: FileHandle

    public init(url: URL) throws {
        self.url = url
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    public func write(step: Int, metrics: [String: Double]) throws {
        var fields = ["\"step\": \(step)", "\"wall_time\": \(Date().timeIntervalSince1970)"]
        for (k, v) in metrics.sorted(by: { $0.key < $1.key }) {
            fields.append("\(Self.quote(k)): \(v.isFinite ? "\(v)" : "null")")
        }
        try handle.write(contentsOf: Data(("{" + fields.joined(separator: ", ") + "}\n").utf8))
    }

    public func close() {
        try? handle.synchronize()
        try? handle.close()
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where ch.value < 0x20: out += String(format: "\\u%04x", ch.value)
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// Reads a metrics file back: one dictionary per line (`null` values are omitted).
    public static func read(_ url: URL) throws -> [[String: Double]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            var out: [String: Double] = [:]
            for (k, v) in obj {
                if let d = v as? Double {
                    out[k] = d
                } else if let i = v as? Int {
                    out[k] = Double(i)
                } else if let n = v as? NSNumber {
                    out[k] = n.doubleValue
                }
            }
            return out
        }
    }
}
