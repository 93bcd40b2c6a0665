import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where per-step metrics go.
public protocol MetricsSink: AnyObject {
    /// Records the metrics of one step.
    func write(step: Int, metrics: [String: Double]) throws
    /// Flushes and closes.
    func close()
    /// A run resumed after `step` steps: forget what was recorded for later steps (a crashed run
    /// got further than its last checkpoint). Default: nothing to do.
    func resume(afterStep step: Int) throws
}

extension MetricsSink {
    public func resume(afterStep step: Int) throws {}
}

/// Appends one JSON object per step to a file: `{"step": 3, "wall_time": …, "reward": 0.52, …}`,
/// keys sorted; non-finite values are written as `null`. Appending continues a resumed run's file.
///
/// A line is written whole or not at all: when a write fails (a full disk), the file is cut back
/// to the end of the previous line, so later runs never meet half a line. Opening the file drops a
/// half line that a crash left at its end.
public final class JSONLWriter: MetricsSink {
    public let url: URL
    private let handle: FileHandle
    /// Bytes the file may still take before writes fail as on a full disk (tests only).
    var simulatedSpaceLeft: Int?

    public init(url: URL) throws {
        self.url = url
        try FileSystemError.createDirectory(url.deletingLastPathComponent())
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw FileSystemError(action: "create", path: url.path, reason: Self.creationFailure(url))
            }
        }
        do { handle = try FileHandle(forUpdating: url) } catch {
            throw FileSystemError(action: "open", path: url.path, reason: FileSystemError.describe(error))
        }
        isRegularFile = (try? FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType) == .typeRegular
        guard isRegularFile else { return }
        let data = (try? handle.readToEnd()) ?? Data()
        let complete = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        if complete < data.count { try? handle.truncate(atOffset: UInt64(complete)) }
        try handle.seek(toOffset: UInt64(complete))
    }

    /// Whether the file is a plain file (not `/dev/full` or a pipe), which can be read back and cut.
    private let isRegularFile: Bool

    public func write(step: Int, metrics: [String: Double]) throws {
        var fields = ["\"step\": \(step)", "\"wall_time\": \(Date().timeIntervalSince1970)"]
        for (k, v) in metrics.sorted(by: { $0.key < $1.key }) {
            fields.append("\(Self.quote(k)): \(v.isFinite ? "\(v)" : "null")")
        }
        let line = Data(("{" + fields.joined(separator: ", ") + "}\n").utf8)
        let start = isRegularFile ? try handle.offset() : 0
        do {
            if let left = simulatedSpaceLeft, left < line.count {
                try handle.write(contentsOf: line.prefix(max(left, 0)))
                simulatedSpaceLeft = 0
                throw FileSystemError(action: "write", path: url.path, reason: "no space left on device")
            }
            try handle.write(contentsOf: line)
            simulatedSpaceLeft = simulatedSpaceLeft.map { $0 - line.count }
        } catch {
            if isRegularFile {
                try? handle.truncate(atOffset: start)
                try? handle.seek(toOffset: start)
            }
            if error is FileSystemError { throw error }
            throw FileSystemError(action: "write", path: url.path, reason: FileSystemError.describe(error))
        }
    }

    /// Keeps the lines of steps ≤ `step` (and drops the rest): a resumed run rewrites them.
    public func resume(afterStep step: Int) throws {
        guard isRegularFile else { return }
        try handle.seek(toOffset: 0)
        let data = (try handle.readToEnd()) ?? Data()
        var keep = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let end = keep + line.count + 1
            guard end <= data.count, let row = Self.step(ofLine: Data(line)), row <= step else { break }
            keep = end
        }
        try handle.truncate(atOffset: UInt64(keep))
        try handle.seek(toOffset: UInt64(keep))
    }

    private static func step(ofLine line: Data) -> Int? {
        guard let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any] else { return nil }
        return (obj["step"] as? NSNumber)?.intValue
    }

    private static func creationFailure(_ url: URL) -> String {
        let parent = url.deletingLastPathComponent().path
        if access(parent, W_OK) != 0 { return FileSystemError.reason(errno: errno) }
        return "unknown error"
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
