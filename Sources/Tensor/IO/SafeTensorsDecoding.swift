/// Element decoding for ``SafeTensorsFile``: little-endian, unaligned loads only.
enum SafeTensorsDecoding {
    enum IntegerResult {
        case values([Int])
        case outOfRange
        case unsupported
    }

    static func canDecodeFloats(_ dtype: SafeTensorsDType) -> Bool {
        switch dtype {
        case .F32, .F16, .BF16, .F64, .I64, .I32, .I16, .I8, .U8, .U16, .U32, .U64, .BOOL: true
        default: false
        }
    }

    /// Fills `out` with the elements starting at byte `offset` of `raw`. `raw` must hold
    /// `out.count` elements there (the header validation guarantees it).
    static func decodeFloats(_ dtype: SafeTensorsDType, from raw: UnsafeRawBufferPointer, at offset: Int,
                             into out: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .F32:
            #if _endian(little)
            if let dst = out.baseAddress, let src = raw.baseAddress, !out.isEmpty {
                UnsafeMutableRawPointer(dst).copyMemory(from: src + offset, byteCount: out.count * 4)
            }
            #else
            load(UInt32.self, raw, offset, out) { Float(bitPattern: $0) }
            #endif
        case .F16: load(UInt16.self, raw, offset, out) { HalfPrecision.float(fromFloat16: $0) }
        case .BF16: load(UInt16.self, raw, offset, out) { HalfPrecision.float(fromBFloat16: $0) }
        case .F64: load(UInt64.self, raw, offset, out) { Float(Double(bitPattern: $0)) }
        case .I64: load(UInt64.self, raw, offset, out) { Float(Int64(bitPattern: $0)) }
        case .U64: load(UInt64.self, raw, offset, out) { Float($0) }
        case .I32: load(UInt32.self, raw, offset, out) { Float(Int32(bitPattern: $0)) }
        case .U32: load(UInt32.self, raw, offset, out) { Float($0) }
        case .I16: load(UInt16.self, raw, offset, out) { Float(Int16(bitPattern: $0)) }
        case .U16: load(UInt16.self, raw, offset, out) { Float($0) }
        case .I8: load(UInt8.self, raw, offset, out) { Float(Int8(bitPattern: $0)) }
        case .U8: load(UInt8.self, raw, offset, out) { Float($0) }
        case .BOOL: load(UInt8.self, raw, offset, out) { $0 == 0 ? 0 : 1 }
        default: out.initialize(repeating: .nan)  // unreachable: callers check canDecodeFloats
        }
    }

    /// The elements as `Int`s, or why they cannot be.
    static func decodeIntegers(_ dtype: SafeTensorsDType, from raw: UnsafeRawBufferPointer, at offset: Int,
                               count: Int) -> IntegerResult {
        switch dtype {
        case .I64: return .values(ints(UInt64.self, raw, offset, count) { Int(Int64(bitPattern: $0)) })
        case .I32: return .values(ints(UInt32.self, raw, offset, count) { Int(Int32(bitPattern: $0)) })
        case .U32: return .values(ints(UInt32.self, raw, offset, count) { Int($0) })
        case .I16: return .values(ints(UInt16.self, raw, offset, count) { Int(Int16(bitPattern: $0)) })
        case .U16: return .values(ints(UInt16.self, raw, offset, count) { Int($0) })
        case .I8: return .values(ints(UInt8.self, raw, offset, count) { Int(Int8(bitPattern: $0)) })
        case .U8: return .values(ints(UInt8.self, raw, offset, count) { Int($0) })
        case .BOOL: return .values(ints(UInt8.self, raw, offset, count) { $0 == 0 ? 0 : 1 })
        case .U64:
            let wide = ints(UInt64.self, raw, offset, count) { $0 }
            guard wide.allSatisfy({ $0 <= UInt64(Int.max) }) else { return .outOfRange }
            return .values(wide.map { Int($0) })
        default: return .unsupported
        }
    }

    @inline(__always)
    private static func load<T: FixedWidthInteger>(
        _: T.Type, _ raw: UnsafeRawBufferPointer, _ offset: Int, _ out: UnsafeMutableBufferPointer<Float>,
        _ convert: (T) -> Float
    ) {
        let stride = MemoryLayout<T>.size
        for i in 0..<out.count {
            out[i] = convert(T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * stride, as: T.self)))
        }
    }

    @inline(__always)
    private static func ints<T: FixedWidthInteger, R>(
        _: T.Type, _ raw: UnsafeRawBufferPointer, _ offset: Int, _ count: Int, _ convert: (T) -> R
    ) -> [R] {
        let stride = MemoryLayout<T>.size
        return (0..<count).map { i in
            convert(T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * stride, as: T.self)))
        }
    }
}
