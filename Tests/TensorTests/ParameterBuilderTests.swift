import Foundation
import Testing

@testable import UniRLTensor

/// The one way layers get their parameters: random, loaded or shapes only, through the same code.
@Suite struct ParameterBuilderTests {
    /// Two linears and a norm under `block.*`, as a model would declare them.
    final class Block: Module {
        let first: Linear, second: Linear, norm: RMSNorm
        init(_ vb: ParameterBuilder) {
            first = Linear(inputSize: 3, outputSize: 4, vb.scoped("layers.0"))
            second = Linear(inputSize: 4, outputSize: 2, bias: false, vb.scoped("layers.1"))
            norm = RMSNorm(dimension: 2, bias: true, vb.scoped("norm"))
        }
        var submodules: [String: any Module] {
            ["layers": ModuleDictionary(["0": first, "1": second]), "norm": norm]
        }
    }

    static func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("builder-\(UUID().uuidString).safetensors")
    }

    /// Random initialisation draws in declaration order from the generator it is given, exactly as
    /// the `rng:` initialisers do, and hands the advanced generator back.
    @Test func randomDrawsInDeclarationOrder() throws {
        let vb = ParameterBuilder.random(RandomState(seed: 9))
        let block = try vb.build { Block($0) }
        var rng = RandomState(seed: 9)
        let first = Linear(inputSize: 3, outputSize: 4, rng: &rng)
        let second = Linear(inputSize: 4, outputSize: 2, bias: false, rng: &rng)
        #expect(block.first.weight.value.scalars == first.weight.value.scalars)
        #expect(block.first.bias?.value.scalars == first.bias?.value.scalars)
        #expect(block.second.weight.value.scalars == second.weight.value.scalars)
        #expect(block.norm.weight.value.scalars == [1, 1] && block.norm.bias?.value.scalars == [0, 0])
        var a = vb.randomState, b = rng
        #expect(a.nextUniform() == b.nextUniform())
    }

    /// Shapes only: nothing allocated, every full name and declared shape listed.
    @Test func shapesOnlyListsNamesAndShapes() throws {
        let vb = ParameterBuilder.shapesOnly()
        let block = try vb.build { Block($0) }
        #expect(vb.declaredShapes == [
            "layers.0.weight": [4, 3], "layers.0.bias": [4], "layers.1.weight": [2, 4], "norm.weight": [2], "norm.bias": [2],
        ])
        #expect(block.namedParameters().allSatisfy { $0.parameter.value.elementCount == 0 })
    }

    /// Loading reads every tensor by full name (also through a renaming and a scope), and refuses a
    /// missing, mis-shaped, non-float or unexpected tensor with a typed error naming it and the file.
    @Test func loadingChecksEveryTensorAndNamesTheFile() throws {
        let source = try ParameterBuilder.random(RandomState(seed: 1)).build { Block($0) }
        var tensors = source.stateDict()
        let url = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: url) }
        func load() throws -> Block { try ParameterBuilder.loading(try ShardedCheckpoint(contentsOf: url)).build { Block($0) } }

        try SafeTensors.write(tensors, to: url)
        let loaded = try load()
        #expect(loaded.stateDict().mapValues(\.scalars) == tensors.mapValues(\.scalars))

        // Scoped: the same names under `model.`, renamed from a `backbone.` layout.
        try SafeTensors.write(Dictionary(uniqueKeysWithValues: tensors.map { ("backbone." + $0.key, $0.value) }), to: url)
        let renamed = ParameterBuilder.loading(try SafeTensorsFile(contentsOf: url)) {
            "model." + $0.dropFirst("backbone.".count)
        }
        let scoped = try renamed.scoped("model").build { Block($0) }
        #expect(scoped.stateDict().mapValues(\.scalars) == tensors.mapValues(\.scalars))

        tensors["extra.weight"] = .zeros([1])
        try SafeTensors.write(tensors, to: url)
        do { _ = try load(); Issue.record("an unexpected tensor was accepted") } catch ModuleLoadError.incompatible(let report) {
            #expect(report.unexpected == ["extra.weight"])
            #expect(report.source == url.path)
            #expect("\(ModuleLoadError.incompatible(report))".contains(url.lastPathComponent))
        }
        tensors["extra.weight"] = nil

        let bias = tensors.removeValue(forKey: "norm.bias")!
        try SafeTensors.write(tensors, to: url)
        do { _ = try load(); Issue.record("a missing tensor was accepted") } catch ModuleLoadError.incompatible(let report) {
            #expect(report.missing == ["norm.bias"])
        }

        tensors["norm.bias"] = .zeros([3])
        try SafeTensors.write(tensors, to: url)
        do { _ = try load(); Issue.record("a mis-shaped tensor was accepted") } catch ModuleLoadError.shapeMismatch(let report) {
            #expect(report.mismatched.map(\.name) == ["norm.bias"])
            #expect(report.mismatched.first?.found == [3])
        }

        tensors["norm.bias"] = nil
        var entries = tensors.mapValues { SafeTensorsEntry.float($0, .F32) }
        entries["norm.bias"] = .int64(shape: bias.shape, values: [0, 0])
        try SafeTensors.write(entries: entries, to: url)
        do {
            _ = try load()
            Issue.record("an integer weight was accepted")
        } catch ModuleLoadError.wrongDType(let name, let dtype, let file) {
            #expect(name == "norm.bias" && dtype == "I64" && file == url.path)
        }
    }

    /// A module whose listed names differ from those it declared is caught when the build ends.
    @Test func declarationsMustMatchTheModuleTree() {
        final class Misnamed: Module {
            let inner: Linear
            init(_ vb: ParameterBuilder) { inner = Linear(inputSize: 2, outputSize: 2, vb.scoped("proj")) }
            var submodules: [String: any Module] { ["projection": inner] }
        }
        #expect(throws: ModuleLoadError.self) { try ParameterBuilder.shapesOnly().build { Misnamed($0) } }
    }
}
