import ArgumentParser
import CBLAS
import Foundation
import UniRLTensor

/// `unirl bench …`: performance tables (never timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Print benchmark tables.",
        subcommands: [
            TensorBench.self, SanaBench.self, QwenBench.self, TokenizerBench.self, UnifiedBench.self, ClipBench.self,
            GRPOStepBench.self, RealScaleBench.self,
        ])
}

struct TensorBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "Engine GEMM vs raw cblas_sgemm, and transformer / conv / linear-attention blocks vs PyTorch.")

    @Flag(help: "Print JSON instead of a Markdown table.") var json = false
    @Option(help: "Threads for OpenBLAS, our kernels and PyTorch (set before anything runs).") var threads = 2
    @Option(help: "Matrix sizes for the GEMM rows.") var sizes: [Int] = [256, 512, 1024, 2048]
    @Flag(help: "Skip the PyTorch comparison even if .venv-reference exists.") var noTorch = false
    @Option(help: "Package root holding .venv-reference and scripts/.") var root = FileManager.default.currentDirectoryPath
    @Option(help: """
            Run only these cases (matmul, elementwise, slice_backward, transformer_block, conv_block, linear_attention; \
            conv_1024 runs only when named).
            """)
    var only: [String] = []
    @Option(help: "im2col budget in floats for the opt-in conv_1024 row (--only conv_1024); the library's default is 2^21.")
    var im2colFloats = ConvolutionWorkspace.im2colFloats

    func validate() throws {
        if let env = ProcessInfo.processInfo.environment["UNIRL_NUM_THREADS"], Int(env) != threads {
            throw ValidationError("UNIRL_NUM_THREADS=\(env) disagrees with --threads \(threads)")
        }
        if Parallel.threadCount != threads {
            throw ValidationError(threadCountMismatch(threads))
        }
    }

    func run() throws {
        let selected = { (name: String) in only.isEmpty || only.contains(name) }
        var rows = selected("matmul") ? TensorBenchmarks.matmulRows(sizes: sizes, threads: threads) : []
        if selected("elementwise") { rows += TensorBenchmarks.elementwiseRows() }
        if selected("slice_backward") { rows += SliceBackwardBench.rows() }
        if only.contains("conv_1024") { rows += TensorBenchmarks.largeConvolutionRows(im2colFloats: im2colFloats) }
        var blocks = TensorBenchmarks.blockRows(TensorBenchmarks.blockCases().filter { selected($0.name) })
        var torchVersion: String?
        let cases = ["transformer_block", "conv_block", "linear_attention"].filter(selected)
        if !noTorch, let torch = ReferenceBenchmark(root: URL(fileURLWithPath: root), script: "scripts/bench_torch.py"),
           let out = torch.run(arguments: ["--threads", String(threads)] + cases.flatMap { ["--only", $0] }) {
            torchVersion = out.torch
            for i in blocks.indices {
                if let r = out.results.first(where: { $0.name == blocks[i].name && $0.pass == blocks[i].pass }) {
                    blocks[i].referenceMs = r.ms
                    blocks[i].referenceName = "torch \(out.torch)"
                }
            }
        }
        rows += blocks
        let report = BenchmarkReport(suite: "tensor", threads: threads, machine: machineDescription(), torchVersion: torchVersion,
                                     rows: rows)
        if json {
            print(try prettyJSON(report))
        } else {
            print("unirl bench tensor — \(report.machine), \(threads) threads, median ms\n")
            print(report.table())
            if torchVersion == nil && !noTorch {
                print("\n(PyTorch columns empty: run scripts/setup-reference-env.sh to create .venv-reference)")
            }
        }
    }
}
