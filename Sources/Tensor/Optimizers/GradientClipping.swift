/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`: when the L2 norm of all
/// gradients together exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6).
///
/// - Returns: the norm before clipping (infinite or NaN when a gradient is not finite; nothing is
///   scaled then, so the caller can skip the update).
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    let norm = gradientNorm(parameters)
    guard norm.isFinite, norm > maxNorm else { return norm }
    let scale = maxNorm / (norm + 1e-6)
    withoutGrad {
        for p in parameters { if let g = p.grad { p.zeroGrad(); p.accumulateGrad(g * scale) } }
    }
    return norm
}

/// The L2 norm of all gradients taken together (accumulated in double precision).
public func gradientNorm(_ parameters: [Parameter]) -> Float {
    var total: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        g.withUnsafeBufferPointer { b in for x in b { total += Double(x) * Double(x) } }
    }
    return Float(total.squareRoot())
}
