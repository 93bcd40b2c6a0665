/// Branch-free elementary functions that vectorise inside loops, for the hot kernels
/// (softmax, SiLU, sigmoid). Accuracy is within 2 ulp of the correctly rounded result over the
/// ranges these kernels see; results saturate instead of overflowing.
public enum FastMath {
    /// eˣ for x in [−87.3, 88.3]; 0 below (where eˣ is subnormal), e^88.3 above. Cody–Waite range reduction
    /// x = n·ln 2 + r, |r| ≤ ln 2 / 2, and the degree-6 minimax polynomial of Cephes' `expf`
    /// (Moshier, Cephes Mathematical Library, expf.c) for eʳ, scaled by 2ⁿ through the exponent bits.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        var v = x < -87.3 ? -87.3 : x
        v = v > 88.3 ? 88.3 : v
        let magic: Float = 12_582_912  // 1.5·2²³: adding it rounds to an integer in the low bits
        let t = v * 1.442_695_04 + magic
        let n = t - magic
        let r = v - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let e = p * r * r + r + 1
        let k = Int32(bitPattern: t.bitPattern) &- Int32(bitPattern: magic.bitPattern)
        let result = e * Float(bitPattern: UInt32(bitPattern: (k &+ 127) << 23))
        return x < -87.3 ? 0 : result
    }

    /// 1 / (1 + e⁻ˣ).
    @inlinable @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
}
