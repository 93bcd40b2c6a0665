import Foundation
import Testing

@testable import UniRLTensor

/// Frozen bfloat16 weights: the linear product against the `Float` path within bfloat16's
/// rounding bound, its input gradient, loading from `BF16` files without conversion, and that
/// such weights cannot be trained.
@Suite struct BFloat16WeightTests {
    /// bfloat16 keeps 8 significant bits: |ŵ − w| ≤ 2⁻⁸·|w| (round to nearest).
    static let unitRoundoff = 1.0 / 256

    /// Random x [rows, in], W [out, in] and b; `out` spans several tiles of the bfloat16 kernel.
    static func operands(rows: Int = 13, inputs: Int = 600, outputs: Int = 1000, seed: UInt64 = 7) -> (Tensor, Tensor, Tensor) {
        var rng = RandomState(seed: seed)
        return (
            .randomNormal([rows, inputs], using: &rng), .randomNormal([outputs, inputs], std: 0.05, using: &rng),
            .randomNormal([outputs], using: &rng)
        )
    }

    @Test func linearIsWithinTheRoundingBoundOfTheFloatPath() {
        let (x, w, b) = Self.operands()
        #expect(Tensor.bfloat16TileFloats / 600 < 1000, "the weight spans several tiles")
        let y32 = x.linear(weight: w, bias: b), y16 = x.linear(bfloat16: BFloat16Matrix(rounding: w), bias: b)
        #expect(y16.shape == [13, 1000])
        // Elementwise: |y16 − y32| ≤ u·(|x|·|W|ᵀ) + Float accumulation slack.
        let absBound = Tensor(shape: x.shape, scalars: x.scalars.map(abs)).linear(
            weight: Tensor(shape: w.shape, scalars: w.scalars.map(abs)), bias: nil)
        var worst = 0.0, errorSquares = 0.0, referenceSquares = 0.0
        for (i, (a, r)) in zip(y16.scalars, y32.scalars).enumerated() {
            let error = Double(abs(a - r)), bound = Self.unitRoundoff * Double(absBound.scalars[i]) + 1e-5 * Double(absBound.scalars[i] + 1)
            worst = max(worst, error / bound)
            errorSquares += error * error
            referenceSquares += Double(r - b.scalars[i % 1000]) * Double(r - b.scalars[i % 1000])
        }
        #expect(worst <= 1, "worst error / bound \(worst)")
        // On random data the errors are far from worst-case, but not zero: the weight was rounded.
        let relative = (errorSquares / referenceSquares).squareRoot()
        #expect(relative > 1e-4 && relative < Self.unitRoundoff, "relative error of x·Wᵀ \(relative)")
    }

    @Test func linearEqualsTheFloatProductWithTheRoundedWeight() {
        let (x, w, b) = Self.operands(rows: 4, inputs: 300, outputs: 1100)
        let frozen = BFloat16Matrix(rounding: w)
        let rounded = frozen.decoded()
        let original = w.scalars
        #expect(
            rounded.scalars.enumerated().allSatisfy {
                HalfPrecision.bfloat16Bits(original[$0.offset]) == UInt16($0.element.bitPattern >> 16)
            })
        let y16 = x.linear(bfloat16: frozen, bias: b), reference = x.linear(weight: rounded, bias: b)
        let worst = zip(y16.scalars, reference.scalars).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? .infinity
        #expect(worst < 1e-5)
        // Rank 1 and no bias take the same kernel.
        let row = x.slice(axis: 0, 0..<1).reshaped([300])
        let y1 = row.linear(bfloat16: frozen, bias: nil), r1 = row.linear(weight: rounded, bias: nil)
        #expect(y1.shape == [1100])
        #expect(zip(y1.scalars, r1.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($1), 1) })
    }

    @Test func inputAndBiasGradientsAreThoseOfTheRoundedWeight() {
        let (x0, w, b0) = Self.operands(rows: 6, inputs: 700, outputs: 900)
        let frozen = BFloat16Matrix(rounding: w), rounded = frozen.decoded()
        var rng = RandomState(seed: 3)
        let probe = Tensor.randomNormal([6, 900], using: &rng)
        func gradients(_ f: (Tensor, Tensor) -> Tensor) -> (Tensor, Tensor) {
            let x = x0.detached().requiringGrad(), b = b0.detached().requiringGrad()
            (f(x, b) * probe).sum().backward()
            return (x.grad!, b.grad!)
        }
        let (gx, gb) = gradients { $0.linear(bfloat16: frozen, bias: $1) }
        let (rx, rb) = gradients { $0.linear(weight: rounded, bias: $1) }
        #expect(gx.shape == [6, 700] && gb.shape == [900])
        #expect(zip(gx.scalars, rx.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($1), 1) })
        #expect(zip(gb.scalars, rb.scalars).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($1), 1) })
        // And against finite differences, on a small case.
        let small = BFloat16Matrix(rounding: w.slice(axis: 0, 0..<5).slice(axis: 1, 0..<7))
        let report = GradientCheck.compare(
            { $0[0].linear(bfloat16: small, bias: $0[1]) }, at: [x0.slice(axis: 1, 0..<7), b0.slice(axis: 0, 0..<5)])
        #expect(report.outputIsRecorded && report.inputs.allSatisfy { $0.worstRatio < 1e-2 })
    }

    @Test func loadingKeepsBF16FilesMappedAndRoundsFloatFiles() throws {
        var rng = RandomState(seed: 11)
        let reference = Linear(inputSize: 24, outputSize: 40, rng: &rng)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let x = Tensor.randomNormal([3, 24], using: &rng)
        for dtype in [SafeTensorsDType.BF16, .F32] {
            let url = folder.appendingPathComponent("\(dtype.rawValue).safetensors")
            try SafeTensors.write(reference.stateDict(), dtype: dtype, to: url)
            let vb = ParameterBuilder.loading(try SafeTensorsFile(contentsOf: url), matrices: .bfloat16)
            let layer = try vb.build { Linear(inputSize: 24, outputSize: 40, $0) }
            let frozen = try #require(layer.weight.bfloat16)
            #expect(layer.bias?.bfloat16 == nil, "only weight matrices are kept in bfloat16")
            let expected = x.linear(bfloat16: BFloat16Matrix(rounding: reference.weight.value), bias: layer.bias!.value)
            #expect(layer(x).scalars == expected.scalars)
            #expect(frozen.shape == [40, 24] && layer.parameterCount() == 40 * 24 + 40)
        }
        // The same checks as for Float weights: a mis-shaped matrix is refused, naming it.
        let url = folder.appendingPathComponent("BF16.safetensors")
        #expect(throws: ModuleLoadError.self) {
            try ParameterBuilder.loading(try SafeTensorsFile(contentsOf: url), matrices: .bfloat16).build {
                Linear(inputSize: 40, outputSize: 24, $0)
            }
        }
    }

    @Test func embeddingRowsAreTheWidenedTable() {
        let table = Embedding(count: 50, dimension: 8, ParameterBuilder.random(RandomState(seed: 5), matrices: .bfloat16))
        let frozen = table.weight.bfloat16!
        let rows = table([3, 49, 0, 3], shape: [2, 2])
        #expect(rows.shape == [2, 2, 8])
        #expect(rows.scalars == Tensor.embedding(frozen.decoded(), ids: [3, 49, 0, 3], idsShape: [2, 2]).scalars)
    }

    @Test func bfloat16WeightsStayFrozen() {
        let layer = Linear(inputSize: 6, outputSize: 4, ParameterBuilder.random(RandomState(seed: 9), matrices: .bfloat16))
        #expect(!layer.weight.isTrainable && layer.weight.bfloat16 != nil)
        layer.freeze(false)
        #expect(layer.trainableParameters().map(\.name) == ["bias"], "only the Float bias is trainable")
        let x = Tensor.ones([2, 6]).requiringGrad()
        layer(x).sum().backward()
        #expect(layer.weight.grad == nil && layer.bias?.grad != nil && x.grad != nil)
    }

    @Test func trainingABFloat16WeightIsAnError() async {
        await #expect(processExitsWith: .failure) {
            let layer = Linear(inputSize: 6, outputSize: 4, ParameterBuilder.random(RandomState(seed: 1), matrices: .bfloat16))
            layer.weight.isTrainable = true
        }
    }
}
