/// Conversions between `Float` and the 16-bit formats stored in checkpoints.
public enum HalfPrecision {
    /// The `Float` whose upper 16 bits are `bits` (bfloat16 → float32 is exact).
    @inlinable
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 nearest to `x`, ties to even; every NaN becomes the quiet NaN `0x7FC0`.
    @inlinable
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let u = x.bitPattern
        let roundingBias = 0x7FFF &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: (u &+ roundingBias) >> 16)
    }

    /// The `Float` value of IEEE binary16 `bits` (exact).
    @inlinable
    public static func float(fromFloat16 bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// The IEEE binary16 nearest to `x` (ties to even, overflow to infinity).
    @inlinable
    public static func float16Bits(_ x: Float) -> UInt16 {
        Float16(x).bitPattern
    }
}
