extension Tensor {
    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        Tensor(shape: shape, storage: TensorStorage(count: shape.elementCount, repeating: value))
    }
    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    public static func zeros(like t: Tensor) -> Tensor { full(t.shape, 0) }
    public static func ones(like t: Tensor) -> Tensor { full(t.shape, 1) }

    /// `start, start + step, …` up to but excluding `end`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n]) { p in for i in 0..<n { p[i] = start + Float(i) * step } }
    }

    /// Samples from N(`mean`, `std`²).
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                                    using rng: inout RandomState) -> Tensor {
        Tensor(shape: shape) { p in for i in 0..<p.count { p[i] = mean + std * rng.nextNormal() } }
    }

    /// Samples uniformly from [`low`, `high`).
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                                     using rng: inout RandomState) -> Tensor {
        Tensor(shape: shape) { p in for i in 0..<p.count { p[i] = low + (high - low) * rng.nextUniform() } }
    }

    /// The identity matrix of size `n`.
    public static func eye(_ n: Int) -> Tensor {
        Tensor(shape: [n, n]) { p in
            p.initialize(repeating: 0)
            for i in 0..<n { p[i * n + i] = 1 }
        }
    }
}
