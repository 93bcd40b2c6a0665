import Foundation
import UniRLTensor

// Checkpoints, resume and the training loop.
extension GRPOTrainer {
    // MARK: - Checkpoints

    /// Everything needed to continue this run exactly.
    public func checkpoint() -> Checkpoint {
        var weights: [String: Tensor] = [:], reference: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        var steps: [String: Int] = [:]
        for e in trainable {
            for (n, p) in e.parameters {
                weights["\(e.name).\(n)"] = p.value.detached()
                if let r = referenceValues[ObjectIdentifier(p)] { reference["\(e.name).\(n)"] = r }
                if let m = emaValues[ObjectIdentifier(p)] { weights["ema.\(e.name).\(n)"] = m }
            }
            let state = e.optimizer.state()
            for (k, v) in state.buffers { optimizer["\(e.name).\(k)"] = v }
            steps[e.name] = state.stepCount
        }
        let state = TrainerState(
            step: step, samplingRNG: samplingRNG, trainingRNG: trainingRNG,
            tracker: tracker, optimizerSteps: steps)
        return Checkpoint(
            weights: weights, reference: reference, optimizer: optimizer, state: state, configuration: configuration,
            scenarioSettings: scenarioSettings)
    }

    /// Writes ``checkpoint()`` atomically to `directory`.
    public func saveCheckpoint(to directory: URL) throws {
        try checkpoint().write(to: directory)
    }

    /// Continues from a checkpoint: weights, reference, optimizer state, step, generators and
    /// per-prompt statistics.
    public func restore(_ checkpoint: Checkpoint) throws {
        for e in trainable {
            for (n, p) in e.parameters {
                let key = "\(e.name).\(n)"
                guard let w = checkpoint.weights[key] else { throw CheckpointError.missingTensor(key) }
                guard w.shape == p.shape else { throw CheckpointError.shapeMismatch(name: key, expected: p.shape, found: w.shape) }
                if referenceValues[ObjectIdentifier(p)] != nil {
                    guard let r = checkpoint.reference[key] else { throw CheckpointError.missingTensor("reference " + key) }
                    guard r.shape == p.shape else {
                        throw CheckpointError.shapeMismatch(name: "reference " + key, expected: p.shape, found: r.shape)
                    }
                    referenceValues[ObjectIdentifier(p)] = r
                }
                if emaValues[ObjectIdentifier(p)] != nil {
                    guard let m = checkpoint.weights["ema." + key], m.shape == p.shape else {
                        throw CheckpointError.missingTensor("ema." + key)
                    }
                    emaValues[ObjectIdentifier(p)] = m
                }
            }
        }
        for e in trainable {
            for (n, p) in e.parameters { p.assign(checkpoint.weights["\(e.name).\(n)"]!) }
            let prefix = e.name + "."
            var buffers: [String: Tensor] = [:]
            for (k, v) in checkpoint.optimizer where k.hasPrefix(prefix) { buffers[String(k.dropFirst(prefix.count))] = v }
            try e.optimizer.load(OptimizerState(stepCount: checkpoint.state.optimizerSteps[e.name] ?? 0, buffers: buffers))
        }
        step = checkpoint.state.step
        samplingRNG = checkpoint.state.samplingRNG
        trainingRNG = checkpoint.state.trainingRNG
        tracker = checkpoint.state.tracker
    }

    /// Resumes as `run.resume_from` says (once, before the first step; later calls do nothing), so
    /// that what runs before training (start-of-run samples) sees the resumed weights.
    public func resumeIfRequested() throws {
        guard !resumeResolved else { return }
        resumeResolved = true
        guard step == 0, !configuration.run.resumeFrom.isEmpty else { return }
        if isWriter {
            for name in Checkpoint.removeLeftovers(in: configuration.run.checkpointsDirectory) {
                logger.warning("removed \(name), left by an interrupted checkpoint write or prune")
            }
        }
        // Every rank must read the same checkpoint: rank 0 has finished its clean-up first.
        try dataParallel?.collective.barrier()
        if let url = configuration.run.resumeCheckpoint() {
            try resume(from: url)
            try checkReplicasIfDue(force: true)
        } else {
            logger.info("no checkpoint in \(configuration.run.checkpointsDirectory.path); starting fresh")
        }
    }

    /// Reads and restores the checkpoint in `directory`, after checking that it was written by
    /// this run's configuration (experts, scenario settings; the tensors' shapes are checked on
    /// restore).
    public func resume(from directory: URL) throws {
        let checkpoint = try Checkpoint.read(from: directory)
        // Other experts cannot resume; scenario settings given on the command line win over the
        // stored ones on purpose (ScenarioRunner), so those are said, not refused.
        let differences = checkpoint.differences(from: configuration, scenarioSettings: scenarioSettings)
        let refused = differences.filter { !$0.hasPrefix("scenario.") }
        if !refused.isEmpty {
            throw CheckpointError.configurationMismatch(checkpoint: directory.path, differences: refused)
        }
        for note in differences where note.hasPrefix("scenario.") {
            logger.warning("resuming \(directory.lastPathComponent) with a changed setting: \(note)")
        }
        try restore(checkpoint)
        logger.info("resumed from \(directory.path) at step \(step)")
    }

    // MARK: - The run

    /// Trains until `run.steps` steps are done (or, to stop early, until `stopAfter` steps):
    /// resumes as `run.resume_from` says, logs metrics (JSONL, TensorBoard, progress bar) into
    /// `run.output_dir`, and writes a checkpoint every `run.checkpoint_every` steps and after the
    /// last into `<output_dir>/checkpoints/step-NNNNNN`.
    public func train(stopAfter: Int? = nil, metrics: MetricsLogger? = nil) async throws {
        let run = configuration.run
        let output = URL(fileURLWithPath: run.outputDir)
        let checkpoints = run.checkpointsDirectory
        try resumeIfRequested()
        // Only rank 0 writes or logs metrics; the others keep their history in memory.
        let sink =
            try metrics ?? (isWriter ? MetricsLogger(run: run, directory: output, logger: logger) : MetricsLogger(sinks: [], logEvery: 0))
        defer { if metrics == nil { sink.close() } }
        if (step > 0 || !run.resumeFrom.isEmpty) && sink.history.isEmpty { try sink.resume(afterStep: step) }
        if isWriter && (!run.resumeFrom.isEmpty || run.overwrite) {
            for name in Checkpoint.removeLeftovers(in: checkpoints) {
                logger.warning("removed \(name), left by an interrupted checkpoint write or prune")
            }
        }
        let last = min(run.steps, stopAfter ?? run.steps)
        while step < last {
            let report = try await trainStep()
            sink.log(step: report.step, metrics: report.metrics)
            if run.onMetricsError == .fail, let lost = sink.lostWrites.first {
                throw MetricsError.lost(step: lost.step, reason: lost.error)
            }
            if isWriter && run.checkpointEvery > 0 && (step % run.checkpointEvery == 0 || step == last) {
                try saveCheckpoint(to: checkpoints.appendingPathComponent(Checkpoint.directoryName(step: step)))
                Checkpoint.prune(in: checkpoints, keep: run.keepCheckpoints)
            }
        }
        if let report = sink.lostWritesReport { logger.error("\(report)") }
    }
}
