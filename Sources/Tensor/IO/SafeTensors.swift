import Foundation

/// A read-only safetensors file, memory-mapped or held in memory.
///
/// Opening validates the whole header exactly as the reference reader does (see
/// ``SafeTensorsError``); tensors are decoded lazily, one at a time, so a multi-gigabyte
/// checkpoint costs only the pages actually read.
///
/// ```swift
/// let file = try SafeTensorsFile(contentsOf: url)
/// let w = try file.tensor(named: "layers.0.weight")   // F32, F16 or BF16 → Float
/// ```
public struct SafeTensorsFile: Sendable {
    /// The whole file.
    public let data: Data
    /// The `__metadata__` map, empty when the file has none.
    public let metadata: [String: String]
    /// The tensor names, sorted.
    public let names: [String]
    private let entries: [String: SafeTensorsTensorInfo]
    private let dataStart: Int

    /// Memory-maps and validates the file at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(readingFileAt: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError.fileUnreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data)
    }

    /// Validates the complete file contents in `data`.
    public init(data: Data) throws {
        let header = try data.withUnsafeBytes { try SafeTensorsHeader.parse($0) }
        self.data = data
        self.metadata = header.metadata
        self.entries = header.tensors
        self.dataStart = header.dataStart
        self.names = header.tensors.keys.sorted()
    }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The dtype and shape of tensor `name`, or `nil` if there is none.
    public func info(for name: String) -> (dtype: SafeTensorsDType, shape: [Int])? {
        entries[name].map { ($0.dtype, $0.shape) }
    }

    /// The full header entry of tensor `name`, offsets included.
    public func tensorInfo(named name: String) throws -> SafeTensorsTensorInfo {
        guard let info = entries[name] else { throw SafeTensorsError.tensorNotFound(name) }
        return info
    }

    /// The raw little-endian bytes of tensor `name`.
    public func rawBytes(named name: String) throws -> Data {
        let info = try tensorInfo(named: name)
        let start = data.startIndex + dataStart
        return data.subdata(in: (start + info.dataOffsets.lowerBound)..<(start + info.dataOffsets.upperBound))
    }

    /// Tensor `name` as a ``BFloat16Matrix`` sharing the file's bytes (no copy: a slice of the
    /// mapping), or `nil` when it is not a rank-2 `BF16` tensor.
    public func bfloat16Matrix(named name: String) throws -> BFloat16Matrix? {
        let info = try tensorInfo(named: name)
        guard info.dtype == .BF16, info.shape.count == 2 else { return nil }
        let start = data.startIndex + dataStart
        let bytes = data[(start + info.dataOffsets.lowerBound)..<(start + info.dataOffsets.upperBound)]
        return BFloat16Matrix(bits: bytes, rows: info.shape[0], columns: info.shape[1])
    }

    /// Tensor `name` converted to `Float`.
    ///
    /// Supports `F32` (exact), `F16` and `BF16` (exact widening), `F64` (rounded), the integer
    /// types and `BOOL` (0 or 1). The 8-bit and smaller float formats and `C64` throw
    /// ``SafeTensorsError/unsupportedDType(name:dtype:operation:)``.
    public func tensor(named name: String) throws -> Tensor {
        let info = try tensorInfo(named: name)
        guard SafeTensorsDecoding.canDecodeFloats(info.dtype) else {
            throw SafeTensorsError.unsupportedDType(name: name, dtype: info.dtype, operation: "tensor(named:)")
        }
        let offset = dataStart + info.dataOffsets.lowerBound
        return data.withUnsafeBytes { raw in
            Tensor(shape: info.shape) { out in
                SafeTensorsDecoding.decodeFloats(info.dtype, from: raw, at: offset, into: out)
            }
        }
    }

    /// Integer tensor `name` as `Int`s (`I64`, `I32`, `I16`, `I8`, `U8`, `U16`, `U32`, `U64`, `BOOL`).
    ///
    /// Throws ``SafeTensorsError/unsupportedDType(name:dtype:operation:)`` for float tensors and
    /// ``SafeTensorsError/integerOutOfRange(name:)`` for a `U64` value above `Int.max`.
    public func integers(named name: String) throws -> [Int] {
        let info = try tensorInfo(named: name)
        let offset = dataStart + info.dataOffsets.lowerBound
        let values = data.withUnsafeBytes { raw in
            SafeTensorsDecoding.decodeIntegers(info.dtype, from: raw, at: offset, count: info.elementCount)
        }
        switch values {
        case .values(let ints): return ints
        case .outOfRange: throw SafeTensorsError.integerOutOfRange(name: name)
        case .unsupported:
            throw SafeTensorsError.unsupportedDType(name: name, dtype: info.dtype, operation: "integers(named:)")
        }
    }
}
