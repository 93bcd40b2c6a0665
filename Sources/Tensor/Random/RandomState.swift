import Foundation

/// A seedable pseudo-random generator whose whole state can be saved and restored.
///
/// The core is xoshiro256** (Blackman & Vigna), seeded through SplitMix64; normals use the
/// Box–Muller transform and cache the second value, which is part of the saved state. Draws are
/// strictly sequential, so the same seed always gives the same numbers.
public struct RandomState: RandomNumberGenerator, Codable, Sendable, Equatable {
    private var s0, s1, s2, s3: UInt64
    /// A normal sample left over from the last Box–Muller pair.
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var z = seed
        func splitMix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
        spareNormal = nil
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample.
    public mutating func nextNormal() -> Float {
        if let spare = spareNormal { spareNormal = nil; return spare }
        // Uniform in (0, 1] so the logarithm stays finite.
        let u1 = Double((next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2.0 * Foundation.log(u1)).squareRoot()
        let theta = 2.0 * Double.pi * u2
        spareNormal = Float(r * Foundation.sin(theta))
        return Float(r * Foundation.cos(theta))
    }

    /// An independent generator derived from this one's next output (for splitting streams).
    public mutating func fork() -> RandomState { RandomState(seed: next()) }
}
