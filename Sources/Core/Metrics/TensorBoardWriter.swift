import Foundation
import UniRLTensor

/// Writes scalar curves as TensorBoard event files (`tensorboard --logdir <dir>` shows them).
///
/// The file is a TFRecord stream: each record is
///
///     uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
///
/// (little-endian), and each `data` is an `Event` protobuf: `wall_time` (field 1, double),
/// `step` (2, int64), `file_version` (3, string; the first record says `"brain.Event:2"`) and
/// `summary` (5) holding `Value { tag (1, string), simple_value (2, float) }`. The file is named
/// `events.out.tfevents.<seconds>.<host>`.
public final class TensorBoardWriter: MetricsSink {
    /// The event file being written.
    public let url: URL
    private let handle: FileHandle

    /// Creates a new event file in `directory` (created if needed).
    public init(directory: URL, host: String = ProcessInfo.processInfo.hostName, now: Date = Date()) throws {
        try FileSystemError.createDirectory(directory)
        let seconds = Int(now.timeIntervalSince1970)
        let safeHost = host.isEmpty ? "localhost" : host.replacingOccurrences(of: "/", with: "_")
        var candidate = directory.appendingPathComponent("events.out.tfevents.\(seconds).\(safeHost)")
        var n = 1
        while FileManager.default.fileExists(atPath: candidate.path) {
            n += 1
            candidate = directory.appendingPathComponent("events.out.tfevents.\(seconds).\(safeHost).\(n)")
        }
        url = candidate
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw FileSystemError(action: "create", path: url.path, reason: "cannot write into \(directory.path)")
        }
        handle = try FileHandle(forWritingTo: url)
        var event = ProtobufWriter()
        event.double(field: 1, now.timeIntervalSince1970)
        event.string(field: 3, "brain.Event:2")
        try writeRecord(event.bytes)
    }

    /// Appends one event holding every metric of `step` as a scalar summary.
    public func write(step: Int, metrics: [String: Double]) throws {
        try write(step: step, metrics: metrics, wallTime: Date().timeIntervalSince1970)
    }

    public func write(step: Int, metrics: [String: Double], wallTime: Double) throws {
        var summary = ProtobufWriter()
        for (tag, value) in metrics.sorted(by: { $0.key < $1.key }) {
            var v = ProtobufWriter()
            v.string(field: 1, tag)
            v.float(field: 2, Float(value))
            summary.message(field: 1, v.bytes)
        }
        var event = ProtobufWriter()
        event.double(field: 1, wallTime)
        event.varint(field: 2, UInt64(bitPattern: Int64(step)))
        event.message(field: 5, summary.bytes)
        try writeRecord(event.bytes)
    }

    /// Marks a restart at `step + 1` as TensorBoard's own writers do (PyTorch's `SummaryWriter`
    /// with `purge_step`, torch/utils/tensorboard/writer.py): a `file_version` event and a
    /// `SessionLog` START (field 6, status 1) at that step. TensorBoard then drops the events of
    /// steps ≥ it that earlier files hold (a crashed run logged past its last checkpoint).
    public func resume(afterStep step: Int) throws {
        let purge = UInt64(bitPattern: Int64(step + 1))
        let now = Date().timeIntervalSince1970
        var version = ProtobufWriter()
        version.double(field: 1, now)
        version.varint(field: 2, purge)
        version.string(field: 3, "brain.Event:2")
        try writeRecord(version.bytes)
        var sessionLog = ProtobufWriter()
        sessionLog.varint(field: 1, 1)
        var event = ProtobufWriter()
        event.double(field: 1, now)
        event.varint(field: 2, purge)
        event.message(field: 6, sessionLog.bytes)
        try writeRecord(event.bytes)
    }

    public func close() {
        try? handle.synchronize()
        try? handle.close()
    }

    private func writeRecord(_ data: [UInt8]) throws {
        var record: [UInt8] = []
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Array($0) }
        record += lengthBytes
        record += littleEndianBytes(CRC32C.masked(lengthBytes))
        record += data
        record += littleEndianBytes(CRC32C.masked(data))
        try handle.write(contentsOf: record)
    }
}

private func littleEndianBytes(_ v: UInt32) -> [UInt8] {
    [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
}

/// CRC-32C (Castagnoli), as TFRecord uses it.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord's masking: rotate right by 15 and add 0xa282ead8.
    public static func masked<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let c = checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xA282_EAD8
    }
}

/// The little protobuf encoder the event files need.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func key(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }
    mutating func varint(field: Int, _ v: UInt64) { key(field, 0); rawVarint(v) }
    mutating func double(field: Int, _ v: Double) {
        key(field, 1)
        var bits = v.bitPattern.littleEndian
        bytes += withUnsafeBytes(of: &bits) { Array($0) }
    }
    mutating func float(field: Int, _ v: Float) {
        key(field, 5)
        var bits = v.bitPattern.littleEndian
        bytes += withUnsafeBytes(of: &bits) { Array($0) }
    }
    mutating func message(field: Int, _ payload: [UInt8]) { key(field, 2); rawVarint(UInt64(payload.count)); bytes += payload }
    mutating func string(field: Int, _ s: String) { message(field: field, Array(s.utf8)) }
}

/// Reads TensorBoard event files back (the scalars that ``TensorBoardWriter`` writes), checking
/// every record's checksums.
public enum TensorBoardEventReader {
    public struct Scalar: Equatable, Sendable {
        public var step: Int
        public var wallTime: Double
        public var tag: String
        public var value: Float
    }

    public enum ReadError: Error, CustomStringConvertible {
        case truncated(offset: Int)
        case badChecksum(offset: Int)
        case badProtobuf(String)
        public var description: String {
            switch self {
            case .truncated(let o): "event file truncated at byte \(o)"
            case .badChecksum(let o): "checksum mismatch in the record at byte \(o)"
            case .badProtobuf(let s): "malformed event: \(s)"
            }
        }
    }

    /// The file version string and every scalar, in file order.
    public static func read(_ url: URL) throws -> (fileVersion: String?, scalars: [Scalar]) {
        let data = [UInt8](try Data(readingFileAt: url))
        var offset = 0
        var version: String?
        var scalars: [Scalar] = []
        while offset < data.count {
            guard offset + 12 <= data.count else { throw ReadError.truncated(offset: offset) }
            let lengthBytes = Array(data[offset..<offset + 8])
            let length = Int(lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
            guard readUInt32(data, offset + 8) == CRC32C.masked(lengthBytes) else { throw ReadError.badChecksum(offset: offset) }
            let start = offset + 12
            guard start + length + 4 <= data.count else { throw ReadError.truncated(offset: offset) }
            let payload = data[start..<start + length]
            guard readUInt32(data, start + length) == CRC32C.masked(payload) else { throw ReadError.badChecksum(offset: offset) }
            var wallTime = 0.0, step = 0
            var values: [(String, Float)] = []
            try parseFields(Array(payload)) { field, wire, value in
                switch (field, wire) {
                case (1, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
                case (2, .varint(let v)): step = Int(Int64(bitPattern: v))
                case (3, .bytes(let b)): version = String(decoding: b, as: UTF8.self)
                case (5, .bytes(let summary)):
                    try parseFields(summary) { f, w, _ in
                        guard f == 1, case .bytes(let valueBytes) = w else { return }
                        var tag = "", simple: Float?
                        try parseFields(valueBytes) { vf, vw, _ in
                            switch (vf, vw) {
                            case (1, .bytes(let t)): tag = String(decoding: t, as: UTF8.self)
                            case (2, .fixed32(let bits)): simple = Float(bitPattern: bits)
                            default: break
                            }
                        }
                        if let simple { values.append((tag, simple)) }
                    }
                default: break
                }
                _ = value
            }
            for (tag, v) in values { scalars.append(Scalar(step: step, wallTime: wallTime, tag: tag, value: v)) }
            offset = start + length + 4
        }
        return (version, scalars)
    }

    private static func readUInt32(_ d: [UInt8], _ o: Int) -> UInt32 {
        UInt32(d[o]) | UInt32(d[o + 1]) << 8 | UInt32(d[o + 2]) << 16 | UInt32(d[o + 3]) << 24
    }

    enum Wire { case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32) }

    static func parseFields(_ b: [UInt8], _ body: (Int, Wire, Void) throws -> Void) throws {
        var i = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count, shift < 64 else { throw ReadError.badProtobuf("varint") }
                let byte = b[i]; i += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while i < b.count {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: try body(field, .varint(try varint()), ())
            case 1:
                guard i + 8 <= b.count else { throw ReadError.badProtobuf("fixed64") }
                let v = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) }
                i += 8
                try body(field, .fixed64(v), ())
            case 2:
                let n = Int(try varint())
                guard i + n <= b.count else { throw ReadError.badProtobuf("length") }
                let sub = Array(b[i..<i + n]); i += n
                try body(field, .bytes(sub), ())
            case 5:
                guard i + 4 <= b.count else { throw ReadError.badProtobuf("fixed32") }
                let v = (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[i + $1]) << (8 * UInt32($1)) }
                i += 4
                try body(field, .fixed32(v), ())
            default: throw ReadError.badProtobuf("wire type \(key & 7)")
            }
        }
    }
}
