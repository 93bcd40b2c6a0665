import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// SANA's reference path (UniRL-Zero's editing DiT) and triple classifier-free guidance.
@Suite struct ReferencePathTests {
    static let configuration = UnifiedTestModels.transformerConfiguration

    /// A fresh reference path is a copy of patch_embed and a zero ref_linear: the model computes
    /// what the plain model computes, whatever the reference latent.
    @Test func zeroInitialisedPathLeavesTheModelUnchanged() throws {
        var rng = RandomState(seed: 5)
        let withPath = try SanaTransformer(configuration: Self.configuration, referencePath: true, rng: &rng)
        let plainWeights = ParameterBuilder.loading(withPath.stateDict()) { SanaTransformer.holdsReferencePath([$0]) ? nil : $0 }
        let plain = try plainWeights.build { SanaTransformer(configuration: Self.configuration, $0) }
        #expect(withPath.refPatchEmbed!.proj.weight.value.scalars == withPath.patchEmbed.proj.weight.value.scalars)
        let x = Tensor.randomNormal([2, 4, 4, 4], using: &rng), caption = Tensor.randomNormal([2, 3, 12], using: &rng)
        let t = Tensor([500, 20]), ref = Tensor.randomNormal([2, 4, 4, 4], using: &rng)
        let a = withoutGrad { withPath(x, encoderHiddenStates: caption, timestep: t, referenceHiddenStates: ref) }
        let b = withoutGrad { plain(x, encoderHiddenStates: caption, timestep: t) }
        #expect(a.scalars == b.scalars)
    }

    /// Saved with the path it loads with the path; a plain diffusers checkpoint loads without it;
    /// nil reference = zeros.
    @Test func checkpointsDecideThePathAndNilMeansZeros() throws {
        let model = try UnifiedTestModels.model().transformer
        let dir = UnifiedTestModels.temporaryDirectory("sana-ref")
        defer { try? FileManager.default.removeItem(at: dir) }
        try UnifiedModel.writeDiffusers(
            model, configuration: model.configuration, className: "SanaTransformer2DModel", to: dir, dtype: .F32)
        let back = try SanaTransformer.load(from: dir)
        #expect(back.hasReferencePath)
        var rng = RandomState(seed: 6)
        let x = Tensor.randomNormal([1, 4, 4, 4], using: &rng), caption = Tensor.randomNormal([1, 3, 12], using: &rng)
        let zeroRef = withoutGrad {
            back(x, encoderHiddenStates: caption, timestep: Tensor([300]), referenceHiddenStates: .zeros([1, 4, 4, 4]))
        }
        let nilRef = withoutGrad { back(x, encoderHiddenStates: caption, timestep: Tensor([300])) }
        #expect(UnifiedTestModels.maxDifference(zeroRef, nilRef) < 1e-6)

        let plainDir = UnifiedTestModels.temporaryDirectory("sana-plain")
        defer { try? FileManager.default.removeItem(at: plainDir) }
        let plain = try SanaTransformer(configuration: Self.configuration, rng: &rng)
        try UnifiedModel.writeDiffusers(
            plain, configuration: plain.configuration, className: "SanaTransformer2DModel", to: plainDir, dtype: .F32)
        #expect(try !SanaTransformer.load(from: plainDir).hasReferencePath)
        #expect(
            try Self.configuration.parameterCount(referencePath: true) - Self.configuration.parameterCount()
                == 4 * 8 + 8 + 8 * 8 + 8)
    }

    /// v = v_u + w_ref·(v_ref − v_u) + w·(v_full − v_ref), each branch one plain model call.
    @Test func tripleGuidanceCombinesTheThreeBranches() throws {
        let model = try UnifiedTestModels.model().transformer
        var rng = RandomState(seed: 7)
        let x = Tensor.randomNormal([2, 4, 4, 4], using: &rng), caption = Tensor.randomNormal([2, 3, 12], using: &rng)
        let ref = Tensor.randomNormal([2, 4, 4, 4], using: &rng), null = Tensor.zeros([2, 3, 12])
        let field = GuidedVelocity(
            transformer: model, conditions: caption, mask: nil, unconditional: null, guidanceScale: 3,
            reference: ref, referenceGuidanceScale: 1.5)
        let t: [Float] = [0.8, 0.3]
        let guided = withoutGrad { field(x, levels: t) }
        let ts = Tensor(t.map { $0 * 1000 })
        let (u, r, f) = withoutGrad {
            (
                model(x, encoderHiddenStates: null, timestep: ts, referenceHiddenStates: .zeros(ref.shape)),
                model(x, encoderHiddenStates: null, timestep: ts, referenceHiddenStates: ref),
                model(x, encoderHiddenStates: caption, timestep: ts, referenceHiddenStates: ref)
            )
        }
        let expected = u + (r - u) * 1.5 + (f - r) * 3
        #expect(UnifiedTestModels.maxDifference(guided, expected) < 1e-5)
        #expect(UnifiedTestModels.maxDifference(f, r) > 1e-3 && UnifiedTestModels.maxDifference(r, u) > 1e-3)
    }

    /// The SANA policy with reference latents: replay equals sampling, guided triply.
    @Test func policyWithReferenceReplaysItsSamples() throws {
        let model = try UnifiedTestModels.model().transformer
        var rng = RandomState(seed: 8)
        let settings = SanaPolicySettings(steps: 3, guidanceScale: 2.5, referenceGuidanceScale: 1.5)
        let policy = SanaPolicy(transformer: model, settings: settings, unconditional: SanaCondition(embedding: .zeros([3, 12])))
        let conditions = (0..<2).map { _ in
            SanaCondition(embedding: .randomNormal([3, 12], using: &rng), reference: .randomNormal([4, 4, 4], using: &rng))
        }
        let rollouts = try policy.sample(conditions, using: &rng)
        let replays = try policy.replay(rollouts, given: conditions)
        for (r, p) in zip(rollouts, replays) {
            #expect(zip(r.actionLogProbs, p.logProbs.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
        }
        // A batch mixing rows with and without a reference: the latter get exactly double guidance.
        let mixed = [conditions[0], SanaCondition(embedding: conditions[1].embedding)]
        let both = try policy.velocityField(mixed)
        policy.settings.referenceGuidanceScale = 1
        let alone = try policy.velocityField([mixed[1]])
        let x = Tensor.randomNormal([2, 4, 4, 4], using: &rng)
        let v = withoutGrad { both(x, levels: [0.5, 0.5]) }
        let w = withoutGrad { alone(x.slice(axis: 0, 1..<2), levels: [0.5]) }
        #expect(UnifiedTestModels.maxDifference(v.slice(axis: 0, 1..<2), w) < 1e-5)
    }
}
