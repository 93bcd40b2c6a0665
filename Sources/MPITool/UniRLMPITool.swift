import ArgumentParser
import Foundation
import UniRLCore
import UniRLMPI
import UniRLTensor
import UniRLToys

/// `unirl-mpi`: the data-parallel checks and measurements that must stay small enough to build
/// quickly with the `MPI` trait (Core and the toys only): the equivalence run of the test suite,
/// toy-scenario throughput and all-reduce timings. Run under `mpirun`; without it, one process.
@main
struct UniRLMPITool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unirl-mpi",
        abstract: "Data-parallel GRPO checks and measurements (run under mpirun).",
        subcommands: [ToyRun.self, AllReduceBench.self])
}

/// Trains a toy scenario data-parallel and writes rank 0's final weights.
struct ToyRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toy", abstract: "Train toy-tokens or toy-flow data-parallel; rank 0 writes its weights (JSON).")

    @Option(help: "tokens or flow.") var scenario = "tokens"
    @Option(help: "GRPO steps.") var steps = 3
    @Option(help: "Prompts per step (the global batch).") var prompts = 4
    @Option(help: "Samples per prompt.") var group = 4
    @Option(help: "Micro-batches per optimizer step.") var accumulation = 1
    @Option(help: "Seconds one collective may wait before the job is ended.") var timeout: Double = 60
    @Option(help: "Where rank 0 writes {\"name\": [weights]} after the last step.") var weightsOut: String?
    @Option(help: "A run directory: a checkpoint after every step (rank 0), metrics.jsonl.") var output: String?
    @Flag(help: "Resume from the latest checkpoint in --output.") var resume = false
    @Option(help: "Stop after this many steps (of --steps), as an interrupted run.") var stopAfter: Int?
    @Argument(help: "Further configuration overrides, key=value.") var overrides: [String] = []

    func run() async throws {
        let collective = try MPILaunch.collective(timeout: timeout)
        let common = [
            "run.steps=\(steps)", "trainer.prompts_per_step=\(prompts)", "trainer.group_size=\(group)",
            "trainer.gradient_accumulation=\(accumulation)", "run.progress_bar=never", "run.tensorboard=false",
        ] + (output.map { ["run.output_dir=\($0)", "run.checkpoint_every=1"] + (resume ? ["run.resume_from=latest"] : []) }
            ?? ["run.checkpoint_every=0", "run.jsonl=false"])
        var rng = RandomState(seed: 7)
        let weights: [String: [Float]]
        switch scenario {
        case "tokens":
            let config = try GRPOConfiguration().addingDefaults(for: [("lm", .discrete)])
                .applying(overrides: common + ["experts.lm.learning_rate=0.02", "experts.lm.beta=0.01"] + overrides)
            let s = ToyTokenScenario(policy: ToyTokenPolicy(promptCount: 8, vocabularySize: 16, length: 6, rng: &rng))
            weights = try await train(s, config, collective)
        case "flow":
            let config = try GRPOConfiguration().addingDefaults(for: [("dm", .sde)])
                .applying(overrides: common + ["experts.dm.learning_rate=0.003", "experts.dm.beta=0.01"] + overrides)
            let policy = ToyFlowPolicy(rng: &rng)
            _ = policy.pretrain(steps: 100, data: ToyFlowData.fourBlobs, rng: &rng)
            weights = try await train(ToyFlowScenario(policy: policy), config, collective)
        default:
            throw ValidationError("--scenario must be tokens or flow")
        }
        if collective.isWriter {
            if let weightsOut {
                let data = try JSONSerialization.data(withJSONObject: weights.mapValues { $0.map(Double.init) }, options: [.sortedKeys])
                try data.write(to: URL(fileURLWithPath: weightsOut))
            }
        }
        MPILaunch.finish(collective)
    }

    private func train<S: Scenario>(_ scenario: S, _ config: GRPOConfiguration, _ collective: any Collective) async throws
        -> [String: [Float]]
    {
        let trainer = try GRPOTrainer(scenario: scenario, configuration: config)
        trainer.dataParallel = DataParallel(collective: collective, weightCheckInterval: 1)
        let metrics = MetricsLogger(sinks: [], logEvery: 0)
        try trainer.resumeIfRequested()
        let (first, start) = (trainer.step, Date())
        try await trainer.train(stopAfter: stopAfter, metrics: output != nil && collective.isWriter ? nil : metrics)
        // The training steps alone: not the scenario's construction (toy-flow's pre-training) nor MPI's start.
        let seconds = Date().timeIntervalSince(start), steps = trainer.step - first
        let history = metrics.history
        if collective.isWriter {
            print(String(format: "%@: %d steps on %d rank(s) in %.3f s (%.3f steps/s)", self.scenario, steps, collective.size, seconds,
                         Double(steps) / seconds))
        }
        if collective.isWriter && !history.isEmpty {
            let update = history.reduce(0.0) { $0 + ($1.metrics["time/update"] ?? 0) } / Double(history.count)
            let allReduce = history.reduce(0.0) { $0 + ($1.metrics["time/allreduce"] ?? 0) } / Double(history.count)
            print(String(format: "time/update %.4f s a step, of which gradient all-reduce %.4f s", update, allReduce))
        }
        return trainer.checkpoint().weights.mapValues(\.scalars)
    }
}

/// Times all-reduce sums of Float buffers of the given sizes.
struct AllReduceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce", abstract: "Time all-reduce sums of Float buffers (JSON lines from rank 0).")

    @Option(help: "Buffer sizes in floats, comma-separated.") var elements = "1048576,4194304,16777216"
    @Option(help: "Timed repetitions per size (after one warm-up).") var repeats = 5

    func run() async throws {
        let collective = try MPILaunch.collective(timeout: 600)
        for n in elements.split(separator: ",").compactMap({ Int($0) }) {
            var buffer = [Float](repeating: 1, count: n)
            try collective.allReduceSum(&buffer)
            var times: [Double] = []
            for _ in 0..<repeats {
                try collective.barrier()
                let t = Date()
                try collective.allReduceSum(&buffer)
                times.append(Date().timeIntervalSince(t))
            }
            times.sort()
            if collective.isWriter {
                let median = times[times.count / 2]
                print("{\"ranks\": \(collective.size), \"elements\": \(n), \"median_s\": \(median), \"min_s\": \(times[0])}")
            }
        }
        MPILaunch.finish(collective)
    }
}
