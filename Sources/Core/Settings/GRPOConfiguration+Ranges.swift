import Foundation

/// The most trajectories one step may hold (prompts per step × group size). Each keeps at least
/// its reward, advantage and old log-probability, and usually images or token sequences, so a
/// step beyond this would not fit in memory anyway; refusing it early beats a trap mid-run.
public let maximumTrajectoriesPerStep = 1 << 22

extension GRPOConfiguration {
    /// The range checks PyTorch makes on its optimizers (torch/optim/adamw.py: `0.0 <= betas[i] < 1.0`,
    /// `0.0 <= eps`, `0.0 <= weight_decay`), the schedule's and tracker's bounds, and the sizes
    /// that decide memory, checked before anything is allocated.
    func validateRanges() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigurationError.invalidValue(key: key, reason: reason) }
        }
        let t = trainer
        try check(t.adamBeta1 >= 0 && t.adamBeta1 < 1, "trainer.adam_beta1", "must be in [0, 1), is \(t.adamBeta1)")
        try check(t.adamBeta2 >= 0 && t.adamBeta2 < 1, "trainer.adam_beta2", "must be in [0, 1), is \(t.adamBeta2)")
        try check(t.adamEpsilon > 0 && t.adamEpsilon.isFinite, "trainer.adam_epsilon", "must be > 0, is \(t.adamEpsilon)")
        try check(t.weightDecay >= 0 && t.weightDecay.isFinite, "trainer.weight_decay", "must be ≥ 0, is \(t.weightDecay)")
        try check(t.rewardTimeout >= 0 && t.rewardTimeout.isFinite, "trainer.reward_timeout", "must be ≥ 0 seconds")
        try check(t.momentum >= 0 && t.momentum.isFinite, "trainer.momentum", "must be ≥ 0, is \(t.momentum)")
        try check(t.trackerMinCount >= 1, "trainer.tracker_min_count", "must be ≥ 1")
        let (count, overflow) = t.promptsPerStep.multipliedReportingOverflow(by: t.groupSize)
        if overflow || count > maximumTrajectoriesPerStep {
            let bytes = Double(t.promptsPerStep) * Double(t.groupSize) * 12
            throw ConfigurationError.invalidValue(
                key: t.groupSize > t.promptsPerStep ? "trainer.group_size" : "trainer.prompts_per_step",
                reason: "trainer.prompts_per_step × trainer.group_size = \(t.promptsPerStep) × \(t.groupSize) trajectories per step; "
                    + "their rewards, advantages and log-probabilities alone would need \(formatBytes(bytes)) "
                    + "(at most \(maximumTrajectoriesPerStep) trajectories per step)")
        }
        for (name, e) in experts {
            try check(e.minLrRatio >= 0 && e.minLrRatio <= 1, "experts.\(name).min_lr_ratio", "must be in [0, 1], is \(e.minLrRatio)")
            try check(e.learningRate.isFinite, "experts.\(name).learning_rate", "must be finite")
            try check(e.clipHigh.isFinite, "experts.\(name).clip_high", "must be finite")
            try check(e.beta.isFinite, "experts.\(name).beta", "must be finite")
            try check(e.lossWeight.isFinite, "experts.\(name).loss_weight", "must be finite")
        }
    }
}

/// `12.3 TB`, `512 MB`: a byte count for an error message.
public func formatBytes(_ bytes: Double) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
    var value = bytes, unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(Int(value)) bytes" : String(format: "%.1f %@", value, units[unit])
}
