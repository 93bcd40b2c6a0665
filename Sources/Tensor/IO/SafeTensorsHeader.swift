/// One tensor's entry in a safetensors header.
public struct SafeTensorsTensorInfo: Sendable, Equatable {
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The dimensions; `[]` is a scalar.
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer (after the header).
    public let dataOffsets: Range<Int>

    /// The number of elements (already checked not to overflow).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The parsed and validated header of a safetensors file.
struct SafeTensorsHeader: Sendable {
    /// The largest header the reference reader accepts.
    static let maxHeaderLength: UInt64 = 100_000_000

    /// Byte offset of the data buffer in the file: `8 + N`.
    let dataStart: Int
    let metadata: [String: String]
    let tensors: [String: SafeTensorsTensorInfo]

    /// Parses and validates the header of a whole safetensors file, applying every check of
    /// the reference reader (`SafeTensors::read_metadata` and `Metadata::validate`).
    static func parse(_ file: UnsafeRawBufferPointer) throws -> SafeTensorsHeader {
        guard file.count >= 8 else { throw SafeTensorsError.fileTooSmall(byteCount: file.count) }
        let n = UInt64(littleEndian: file.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard n <= maxHeaderLength else { throw SafeTensorsError.headerTooLarge(headerLength: n) }
        let headerLength = Int(n)
        guard headerLength <= file.count - 8 else {
            throw SafeTensorsError.headerLengthBeyondFile(headerLength: n, fileSize: file.count)
        }
        let headerBytes = [UInt8](UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)]))
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw SafeTensorsError.headerNotUTF8 }
        guard headerBytes.first == UInt8(ascii: "{") else { throw SafeTensorsError.headerDoesNotStartWithBrace }
        let json: JSONValue
        do { json = try JSONParser.parse(headerBytes) } catch {
            throw SafeTensorsError.invalidJSON(String(describing: error))
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError.invalidJSON("the header is not a JSON object")
        }

        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var tensors: [String: SafeTensorsTensorInfo] = [:]
        for (key, value) in members {
            guard seen.insert(key).inserted else { throw SafeTensorsError.duplicateName(key) }
            if key == "__metadata__" {
                metadata = try parseMetadata(value)
            } else {
                tensors[key] = try parseTensorInfo(name: key, value)
            }
        }
        let dataStart = 8 + headerLength
        try validate(tensors, bufferSize: file.count - dataStart)
        return SafeTensorsHeader(dataStart: dataStart, metadata: metadata, tensors: tensors)
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [String: String] {
        switch value {
        case .null:
            return [:]  // serde reads `null` as an absent Option
        case .object(let members):
            var result: [String: String] = [:]
            for (key, v) in members {
                guard case .string(let s) = v else {
                    throw SafeTensorsError.invalidMetadata("the value of '\(key)' is \(v.kindName), not a string")
                }
                guard result.updateValue(s, forKey: key) == nil else {
                    throw SafeTensorsError.invalidMetadata("key '\(key)' appears twice")
                }
            }
            return result
        default:
            throw SafeTensorsError.invalidMetadata("it is \(value.kindName), not an object")
        }
    }

    private static func parseTensorInfo(name: String, _ value: JSONValue) throws -> SafeTensorsTensorInfo {
        guard case .object(let members) = value else {
            throw SafeTensorsError.invalidTensorInfo(name: name, reason: "expected an object, found \(value.kindName)")
        }
        var fields: [String: JSONValue] = [:]
        for (key, v) in members {
            guard fields.updateValue(v, forKey: key) == nil else {
                throw SafeTensorsError.invalidTensorInfo(name: name, reason: "duplicate field '\(key)'")
            }
        }
        func field(_ key: String) throws -> JSONValue {
            guard let v = fields[key] else {
                throw SafeTensorsError.invalidTensorInfo(name: name, reason: "missing field '\(key)'")
            }
            return v
        }
        func sizes(_ key: String) throws -> [Int] {
            guard case .array(let items) = try field(key) else {
                throw SafeTensorsError.invalidTensorInfo(name: name, reason: "'\(key)' is not an array")
            }
            return try items.map { item in
                guard let n = item.nonNegativeInt else {
                    throw SafeTensorsError.invalidTensorInfo(
                        name: name, reason: "'\(key)' holds \(item.kindName), not a non-negative integer")
                }
                return n
            }
        }

        guard case .string(let dtypeName) = try field("dtype") else {
            throw SafeTensorsError.invalidTensorInfo(name: name, reason: "'dtype' is not a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(name: name, dtype: dtypeName)
        }
        let shape = try sizes("shape")
        let offsets = try sizes("data_offsets")
        guard offsets.count == 2 else {
            throw SafeTensorsError.invalidTensorInfo(
                name: name, reason: "'data_offsets' has \(offsets.count) entries, not 2")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw SafeTensorsError.invalidOffset(name: name, begin: begin, end: end, expectedBegin: begin)
        }
        return SafeTensorsTensorInfo(dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    /// `Metadata::validate` plus the final `MetadataIncompleteBuffer` check: sorted by
    /// offsets, the tensors must tile the buffer exactly.
    private static func validate(_ tensors: [String: SafeTensorsTensorInfo], bufferSize: Int) throws {
        let ordered = tensors.sorted { a, b in
            if a.value.dataOffsets.lowerBound != b.value.dataOffsets.lowerBound {
                return a.value.dataOffsets.lowerBound < b.value.dataOffsets.lowerBound
            }
            if a.value.dataOffsets.upperBound != b.value.dataOffsets.upperBound {
                return a.value.dataOffsets.upperBound < b.value.dataOffsets.upperBound
            }
            return a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        var expected = 0
        for (name, info) in ordered {
            let range = info.dataOffsets
            guard range.lowerBound == expected else {
                throw SafeTensorsError.invalidOffset(
                    name: name, begin: range.lowerBound, end: range.upperBound, expectedBegin: expected)
            }
            let bytes = try byteCount(name: name, dtype: info.dtype, shape: info.shape)
            guard range.count == bytes else {
                throw SafeTensorsError.sizeMismatch(name: name, expectedBytes: bytes, actualBytes: range.count)
            }
            guard range.upperBound <= bufferSize else {
                throw SafeTensorsError.offsetOutOfRange(name: name, end: range.upperBound, bufferSize: bufferSize)
            }
            expected = range.upperBound
        }
        guard expected == bufferSize else {
            throw SafeTensorsError.incompleteBuffer(bufferEnd: expected, bufferSize: bufferSize)
        }
    }

    /// `prod(shape) * bits / 8`, overflow-checked, as the reference computes it.
    static func byteCount(name: String, dtype: SafeTensorsDType, shape: [Int]) throws -> Int {
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw SafeTensorsError.sizeOverflow(name: name) }
            elements = p
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.bitSize)
        guard !overflow else { throw SafeTensorsError.sizeOverflow(name: name) }
        guard bits % 8 == 0 else { throw SafeTensorsError.misalignedSlice(name: name) }
        return bits / 8
    }
}
