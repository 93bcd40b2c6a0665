import UniRLTensor

// The exponential moving average of the trained weights (`trainer.ema_decay`).
extension GRPOTrainer {
    /// θ_ema ← d·θ_ema + (1 − d)·θ for every trainable parameter (yifan123/flow_grpo
    /// `flow_grpo/ema.py`, here once per GRPO step).
    func updateEMA() {
        let d = configuration.trainer.emaDecay
        guard d > 0 else { return }
        for e in trainable {
            for (_, p) in e.parameters {
                let id = ObjectIdentifier(p)
                guard let m = emaValues[id] else { continue }
                emaValues[id] = m * d + p.value.detached() * (1 - d)
            }
        }
    }

    /// Runs `body` with every trainable parameter set to its moving average (as is, without an EMA).
    public func withEMAWeights<R>(_ body: () throws -> R) rethrows -> R {
        guard !emaValues.isEmpty else { return try body() }
        var saved: [(Parameter, Tensor)] = []
        for e in trainable {
            for (_, p) in e.parameters {
                guard let m = emaValues[ObjectIdentifier(p)] else { continue }
                saved.append((p, p.value.detached()))
                p.assign(m)
            }
        }
        defer { for (p, v) in saved { p.assign(v) } }
        return try body()
    }
}
