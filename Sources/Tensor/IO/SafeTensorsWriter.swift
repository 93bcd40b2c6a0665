import Foundation

/// A tensor to store in a safetensors file, with the element type to store it as.
public enum SafeTensorsEntry: Sendable {
    /// A float tensor stored as `dtype`: `.F32` (exact), `.F16` (nearest, ties to even),
    /// `.BF16` (nearest, ties to even) or `.F64`.
    case float(Tensor, SafeTensorsDType)
    /// Integers stored as `I64`; `values.count` must equal the product of `shape`.
    case int64(shape: [Int], values: [Int])

    var dtype: SafeTensorsDType {
        switch self {
        case .float(_, let dtype): dtype
        case .int64: .I64
        }
    }

    var shape: [Int] {
        switch self {
        case .float(let t, _): t.shape
        case .int64(let shape, _): shape
        }
    }
}

/// Writes safetensors files the way the reference `serialize` does: tensors sorted by dtype
/// alignment (descending) then name, contiguous offsets, compact JSON header padded with
/// spaces to a multiple of 8 bytes.
public enum SafeTensors {
    /// Encodes float tensors, all stored as `dtype` (`.F32` by default).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                              dtype: SafeTensorsDType = .F32) throws -> Data {
        try encode(entries: tensors.mapValues { .float($0, dtype) }, metadata: metadata)
    }

    /// Encodes a mix of float and integer tensors.
    public static func encode(entries: [String: SafeTensorsEntry], metadata: [String: String]? = nil) throws -> Data {
        let ordered = entries.sorted { a, b in
            let (ra, rb) = (a.value.dtype.alignmentRank, b.value.dtype.alignmentRank)
            return ra != rb ? ra > rb : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        var spans: [Range<Int>] = []
        var offset = 0
        for (name, entry) in ordered {
            let bytes = try validatedByteCount(name: name, entry)
            spans.append(offset..<(offset + bytes))
            offset += bytes
        }
        let header = headerBytes(ordered.map(\.key), ordered.map { ($0.value.dtype, $0.value.shape) }, spans, metadata)
        guard UInt64(header.count) <= SafeTensorsHeader.maxHeaderLength else {
            throw SafeTensorsError.headerTooLarge(headerLength: UInt64(header.count))
        }

        var data = Data(count: 8 + header.count + offset)
        data.withUnsafeMutableBytes { out in
            out.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            UnsafeMutableRawBufferPointer(rebasing: out[8..<(8 + header.count)]).copyBytes(from: header)
            let base = 8 + header.count
            for ((_, entry), span) in zip(ordered, spans) {
                storeElements(entry, into: UnsafeMutableRawBufferPointer(
                    rebasing: out[(base + span.lowerBound)..<(base + span.upperBound)]))
            }
        }
        return data
    }

    /// Encodes float tensors and writes them atomically to `url`.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                             dtype: SafeTensorsDType = .F32, to url: URL) throws {
        try write(entries: tensors.mapValues { .float($0, dtype) }, metadata: metadata, to: url)
    }

    /// Encodes `entries` and writes them atomically to `url` (temporary file, then rename).
    public static func write(entries: [String: SafeTensorsEntry], metadata: [String: String]? = nil,
                             to url: URL) throws {
        let data = try encode(entries: entries, metadata: metadata)
        do { try AtomicFileWriter.write(data, to: url) } catch {
            throw SafeTensorsError.writeFailed(path: url.path, reason: error.description)
        }
    }

    private static func validatedByteCount(name: String, _ entry: SafeTensorsEntry) throws -> Int {
        guard name != "__metadata__" else {
            throw SafeTensorsError.invalidTensorForWriting(name: name, reason: "the name is reserved for metadata")
        }
        switch entry {
        case .float(_, let dtype):
            guard [.F32, .F16, .BF16, .F64].contains(dtype) else {
                throw SafeTensorsError.invalidTensorForWriting(
                    name: name, reason: "float tensors can be stored as F32, F16, BF16 or F64, not \(dtype.rawValue)")
            }
        case .int64(let shape, let values):
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.invalidTensorForWriting(name: name, reason: "negative dimension in \(shape)")
            }
            let bytes = try SafeTensorsHeader.byteCount(name: name, dtype: .I64, shape: shape)
            guard bytes / 8 == values.count else {
                throw SafeTensorsError.invalidTensorForWriting(
                    name: name, reason: "shape \(shape) needs \(bytes / 8) values, got \(values.count)")
            }
        }
        return try SafeTensorsHeader.byteCount(name: name, dtype: entry.dtype, shape: entry.shape)
    }

    /// The compact JSON header, padded with spaces to a multiple of 8 bytes.
    static func headerBytes(
        _ names: [String], _ entries: [(dtype: SafeTensorsDType, shape: [Int])], _ spans: [Range<Int>],
        _ metadata: [String: String]?
    ) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        func separator() { if !first { out.append(UInt8(ascii: ",")) }; first = false }
        if let metadata {
            separator()
            JSONWriter.appendString("__metadata__", to: &out)
            out.append(contentsOf: Array(":{".utf8))
            for (k, (key, value)) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.appendString(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        for (i, name) in names.enumerated() {
            separator()
            JSONWriter.appendString(name, to: &out)
            out.append(contentsOf: Array(":{\"dtype\":".utf8))
            JSONWriter.appendString(entries[i].dtype.rawValue, to: &out)
            out.append(contentsOf: Array(",\"shape\":[".utf8))
            for (k, d) in entries[i].shape.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendInt(d, to: &out)
            }
            out.append(contentsOf: Array("],\"data_offsets\":[".utf8))
            JSONWriter.appendInt(spans[i].lowerBound, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.appendInt(spans[i].upperBound, to: &out)
            out.append(contentsOf: Array("]}".utf8))
        }
        out.append(UInt8(ascii: "}"))
        while out.count % 8 != 0 { out.append(UInt8(ascii: " ")) }
        return out
    }

    /// Stores the entry's elements little-endian into `out`, which is exactly their size.
    private static func storeElements(_ entry: SafeTensorsEntry, into out: UnsafeMutableRawBufferPointer) {
        switch entry {
        case .float(let tensor, let dtype):
            tensor.withUnsafeBufferPointer { src in
                switch dtype {
                case .F16:
                    for (i, x) in src.enumerated() {
                        out.storeBytes(of: HalfPrecision.float16Bits(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                case .BF16:
                    for (i, x) in src.enumerated() {
                        out.storeBytes(of: HalfPrecision.bfloat16Bits(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                case .F64:
                    for (i, x) in src.enumerated() {
                        out.storeBytes(of: Double(x).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                    }
                default:
                    for (i, x) in src.enumerated() {
                        out.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    }
                }
            }
        case .int64(_, let values):
            for (i, v) in values.enumerated() {
                out.storeBytes(of: Int64(v).littleEndian, toByteOffset: 8 * i, as: Int64.self)
            }
        }
    }
}
