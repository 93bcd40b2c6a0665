import Foundation

/// A read-only [rows, columns] matrix of bfloat16 values: a frozen weight kept at half the
/// memory of `Float`, either memory-mapped from a safetensors file (no copy) or rounded from a
/// ``Tensor`` (nearest, ties to even).
///
/// Products with it accumulate in `Float` (``Tensor/linear(bfloat16:bias:)``), so the only
/// error against the `Float` weight is the weight's rounding: |ŵ − w| ≤ 2⁻⁸·|w| (bfloat16 keeps
/// 8 significant bits).
public final class BFloat16Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// Little-endian bfloat16 bits, `rows × columns` of them. A slice of a memory-mapped file
    /// shares the mapping; nothing writes to it after construction.
    private let bits: Data

    /// Wraps `rows × columns` little-endian bfloat16 values (e.g. a mapped safetensors tensor).
    public init(bits: Data, rows: Int, columns: Int) {
        precondition(
            rows >= 0 && columns >= 0 && bits.count == rows * columns * 2, "\(bits.count) bytes for [\(rows), \(columns)] bfloat16")
        self.bits = bits
        self.rows = rows
        self.columns = columns
    }

    /// `matrix` (rank 2) rounded to bfloat16.
    public convenience init(rounding matrix: Tensor) {
        precondition(matrix.rank == 2, "a bfloat16 matrix is rank 2, got \(matrix.shape)")
        var data = Data(count: matrix.elementCount * 2)
        let source = matrix.storage.pointer
        data.withUnsafeMutableBytes { raw in
            let out = raw.bindMemory(to: UInt16.self)
            for i in 0..<matrix.elementCount { out[i] = HalfPrecision.bfloat16Bits(source[i]).littleEndian }
        }
        self.init(bits: data, rows: matrix.shape[0], columns: matrix.shape[1])
    }

    public var shape: [Int] { [rows, columns] }

    /// Calls `body` with the bits (host order is little-endian on every platform this builds on).
    func withBits<R>(_ body: (UnsafePointer<UInt16>) throws -> R) rethrows -> R {
        try bits.withUnsafeBytes { raw in
            // An empty Data may have no base address; nothing is read from it then.
            guard let base = raw.baseAddress else { return try body(UnsafePointer(bitPattern: 2)!) }
            return try body(base.assumingMemoryBound(to: UInt16.self))
        }
    }

    /// The block rows × columns widened to `Float` (exact) into `out`, row-major and packed
    /// (leading dimension `columns.count`).
    func decode(rows rowRange: Range<Int>, columns columnRange: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        withBits { b in
            let width = columnRange.count
            out.withMemoryRebound(to: UInt32.self, capacity: rowRange.count * width) { o in
                for (i, r) in rowRange.enumerated() {
                    let src = b + r * columns + columnRange.lowerBound, dst = o + i * width
                    for j in 0..<width { dst[j] = UInt32(UInt16(littleEndian: src[j])) << 16 }
                }
            }
        }
    }

    /// The whole matrix widened to `Float` (exact): for the rare uses that need a ``Tensor``.
    public func decoded() -> Tensor {
        Tensor(shape: shape) { out in
            Parallel.forEachRange(rows, costPerItem: columns) { r in
                decode(rows: r, columns: 0..<columns, into: out.baseAddress! + r.lowerBound * columns)
            }
        }
    }
}
