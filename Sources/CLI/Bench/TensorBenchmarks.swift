import CBLAS
import Foundation
import UniRLExperts
import UniRLTensor
import UniRLTestSupport

/// The engine's benchmarks: GEMM against raw `cblas_sgemm`, and three blocks against PyTorch.
enum TensorBenchmarks {
    /// Our `matmul` (OpenBLAS pinned to one thread, blocks split across cores by us) against one
    /// `cblas_sgemm` call with OpenBLAS's own `threads` threads: the ceiling. All of ours are
    /// measured first: once woken, OpenBLAS's threads spin for a while and would slow whatever
    /// runs next, so after the raw calls we also wait for them to go back to sleep.
    static func matmulRows(sizes: [Int], threads: Int) -> [BenchmarkRow] {
        var rng = RandomState(seed: 1)
        let operands = sizes.map { n in (Tensor.randomNormal([n, n], using: &rng), Tensor.randomNormal([n, n], using: &rng)) }
        let ours = zip(sizes, operands).map { n, ab in
            medianMilliseconds(warmup: 1, repeats: n >= 2048 ? 3 : 10) { _ = withoutGrad { ab.0.matmul(ab.1) } }
        }
        openblas_set_num_threads(Int32(threads))
        let raw = zip(sizes, operands).map { n, ab in
            let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            defer { c.deallocate() }
            return medianMilliseconds(warmup: 1, repeats: n >= 2048 ? 3 : 10) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                            ab.0.storage.pointer, Int32(n), ab.1.storage.pointer, Int32(n), 0, c, Int32(n))
            }
        }
        openblas_set_num_threads(1)
        usleep(500_000)
        return sizes.indices.map { i in
            let n = sizes[i], flops = 2 * Double(n) * Double(n) * Double(n)
            return BenchmarkRow(name: "matmul_\(n)", pass: "forward", shape: "\(n)×\(n)·\(n)×\(n)", ms: ours[i],
                                referenceMs: raw[i], referenceName: "cblas_sgemm", gflops: flops / ours[i] / 1e6)
        }
    }

    /// Large elementwise ops (memory-bound): add, multiply, SiLU and exp over 4 M floats.
    static func elementwiseRows() -> [BenchmarkRow] {
        var rng = RandomState(seed: 3)
        let a = Tensor.randomNormal([8, 512, 1024], using: &rng), b = Tensor.randomNormal([8, 512, 1024], using: &rng)
        let cases: [(String, () -> Tensor)] = [("add", { a + b }), ("mul", { a * b }), ("silu", { a.silu() }), ("exp", { a.exp() })]
        return cases.map { name, op in
            BenchmarkRow(name: "elementwise_\(name)", pass: "forward", shape: "[8,512,1024]",
                         ms: medianMilliseconds { _ = withoutGrad(op) })
        }
    }

    /// One 128 → 128-channel 3×3 convolution (padding 1) of x [1, 128, 1024, 1024], the shape of
    /// DC-AE's last decoder stage at 1024 px, forward without a tape, with the peak resident memory
    /// while it runs (VmHWM reset first). Opt-in (`--only conv_1024`): 309 GFLOP and 1 GiB of tensors;
    /// `im2colFloats` is the convolution's im2col budget (``ConvolutionWorkspace``).
    static func largeConvolutionRows(im2colFloats: Int) -> [BenchmarkRow] {
        var rng = RandomState(seed: 5)
        let x = Tensor.randomNormal([1, 128, 1024, 1024], using: &rng)
        let w = Tensor.randomNormal([128, 128, 3, 3], using: &rng) * 0.03
        resetPeakResident()
        let ms = ConvolutionWorkspace.$im2colFloats.withValue(im2colFloats) {
            medianMilliseconds(warmup: 0, repeats: 1) { _ = withoutGrad { x.conv2d(weight: w, padding: 1) } }
        }
        let flops = 2.0 * 128 * 128 * 9 * 1024 * 1024
        let shape = "x[1,128,1024,1024] 3×3 Cout=128, im2col ≤ \(im2colFloats) floats"
        let peak = peakResidentMiB()
        return [BenchmarkRow(name: "conv_1024", pass: "forward", shape: shape, ms: ms, gflops: flops / ms / 1e6, peakRSSMiB: peak)]
    }

    /// A block under test: a forward closure and the input it runs on.
    struct BlockCase {
        var name: String
        var shape: String
        var parameters: [Parameter]
        var forward: (Tensor) -> Tensor
        var input: Tensor
    }

    static func blockCases() -> [BlockCase] {
        var rng = RandomState(seed: 7)
        let transformer = TransformerBlock(.init(hiddenSize: 128, numHeads: 4, intermediateSize: 512), rng: &rng)
        let mask = Tensor.ones([8, 128])
        let conv = ConvBlock(.init(inChannels: 32, midChannels: 64, groups: 8), rng: &rng)
        let linear = SanaAttention(processor: .reluLinear, width: 128, heads: 4, headDim: 32, bias: false, qkNorm: false, rng: &rng)
        return [
            BlockCase(name: "transformer_block", shape: "x[8,128,128] C=128 H=4 I=512",
                      parameters: transformer.namedParameters().map(\.parameter),
                      forward: { transformer($0, attentionMask: mask) }, input: .randomNormal([8, 128, 128], using: &rng)),
            BlockCase(name: "conv_block", shape: "x[8,32,32,32] Cm=64 G=8",
                      parameters: conv.namedParameters().map(\.parameter),
                      forward: { conv($0) }, input: .randomNormal([8, 32, 32, 32], using: &rng)),
            BlockCase(name: "linear_attention", shape: "x[8,256,128] H=4",
                      parameters: linear.namedParameters().map(\.parameter),
                      forward: { linear($0) }, input: .randomNormal([8, 256, 128], using: &rng)),
        ]
    }

    /// Forward (no tape, as PyTorch's `no_grad`) and forward+backward of L = Σout²/numel.
    static func blockRows(_ cases: [BlockCase]) -> [BenchmarkRow] {
        cases.flatMap { c -> [BenchmarkRow] in
            let forward = medianMilliseconds { _ = withoutGrad { c.forward(c.input) } }
            let x = c.input.requiringGrad()
            let both = medianMilliseconds {
                for p in c.parameters { p.zeroGrad() }
                let out = c.forward(x)
                (out.square().sum() * (1 / Float(out.elementCount))).backward()
            }
            return [BenchmarkRow(name: c.name, pass: "forward", shape: c.shape, ms: forward),
                    BenchmarkRow(name: c.name, pass: "forward_backward", shape: c.shape, ms: both)]
        }
    }
}
