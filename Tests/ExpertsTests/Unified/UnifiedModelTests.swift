import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// The unified model: positions, padding, both checkpoint layouts, typed errors.
@Suite struct UnifiedModelTests {
    static let prompts = [LanguagePrompt(tokens: [3, 9, 14, 2, 7]), LanguagePrompt(tokens: [5, 11])]

    @Test func positionsCountTheMaskAndPadsSitAtOne() {
        let p = UnifiedModel.maskPositions([1, 1, 0, 0, 1, 1, 1], batch: 1)
        #expect(p.streams[0] == [0, 1, 1, 1, 2, 3, 4] && p.streams[1] == p.streams[0] && p.streams[2] == p.streams[0])
    }

    /// A prompt's condition does not depend on how far it is right-padded for a longer neighbour.
    @Test func conditionIgnoresPadding() throws {
        let model = try UnifiedTestModels.model()
        let alone = try withoutGrad { try model.condition(for: [Self.prompts[1]], querySet: .t2i) }
        let batched = try withoutGrad { try model.condition(for: Self.prompts, querySet: .t2i) }
        #expect(batched.shape == [2, 3, 12])
        #expect(UnifiedTestModels.maxDifference(alone, batched.slice(axis: 0, 1..<2)) < 1e-5)
        let i2i = try withoutGrad { try model.condition(for: [Self.prompts[1]], querySet: .i2i) }
        #expect(UnifiedTestModels.maxDifference(alone, i2i) > 1e-3)
        #expect(throws: UnifiedModelError.self) { try model.condition(for: [LanguagePrompt(tokens: [])], querySet: .t2i) }
    }

    /// The four-folder layout and the official single-checkpoint naming load to the same model.
    @Test func bothLayoutsRoundTrip() throws {
        let model = try UnifiedTestModels.model(autoencoder: true)
        let folders = UnifiedTestModels.temporaryDirectory("unified-folders"),
            official = UnifiedTestModels.temporaryDirectory("unified-official")
        defer { try? FileManager.default.removeItem(at: folders); try? FileManager.default.removeItem(at: official) }
        try model.save(to: folders)
        try model.saveOfficial(to: official)
        let names = try ShardedCheckpoint(contentsOf: official).names
        #expect(names.contains("model.t2i_queries") && names.contains("model.i2i_queries"))
        #expect(names.contains("model.down_projector.layers.0.attn.q_proj.weight"))
        #expect(names.contains("model.dit.ref_linear.weight") && names.contains("model.dit.patch_embed.proj.weight"))
        #expect(names.contains("model.layers.0.self_attn.q_proj.weight") && names.contains("visual.merger.mlp.0.weight"))
        let expected = try withoutGrad { try model.condition(for: Self.prompts, querySet: .t2i) }
        for dir in [folders, official] {
            let back = try UnifiedModel.load(from: dir)
            #expect(back.transformer.hasReferencePath && back.autoencoder != nil)
            let got = try withoutGrad { try back.condition(for: Self.prompts, querySet: .t2i) }
            #expect(got.scalars == expected.scalars, "\(dir.lastPathComponent)")
            let original = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.parameter.value.scalars) })
            for (name, p) in back.namedParameters() { #expect(original[name] == p.value.scalars, "\(name)") }
        }
    }

    @Test func missingOrForeignFoldersAreNamedErrors() throws {
        let dir = UnifiedTestModels.temporaryDirectory("unified-broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: UnifiedModelError.unrecognizedLayout(path: dir.path)) { try UnifiedModel.load(from: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("lm"), withIntermediateDirectories: true)
        #expect(throws: UnifiedModelError.missingPart(path: dir.appendingPathComponent("lm/config.json").path)) {
            try UnifiedModel.load(from: dir)
        }
        let model = try UnifiedTestModels.model()
        try model.save(to: dir)
        #expect(throws: UnifiedModelError.missingPart(path: dir.appendingPathComponent("vae/config.json").path)) {
            try UnifiedModel.load(from: dir)
        }
        #expect(try UnifiedModel.load(from: dir, requireAutoencoder: false).autoencoder == nil)
        try Data("{".utf8).write(to: dir.appendingPathComponent("connector/config.json"))
        do {
            _ = try UnifiedModel.load(from: dir, requireAutoencoder: false)
            Issue.record("a malformed connector/config.json loaded")
        } catch let UnifiedModelError.partFailed(path, reason) {
            #expect(path == dir.appendingPathComponent("connector").path && reason.contains("config.json"))
        }
    }
}
