import Foundation
import Testing
import UniRLExperts
import UniRLTensor

/// Qwen2.5-VL behaviour beyond the parity fixtures: 3-D positions by hand, incremental decoding
/// after an image prompt, and typed errors for inconsistent image inputs.
@Suite struct QwenVLModelTests {
    static func model(seed: UInt64 = 3) -> QwenVLForConditionalGeneration {
        var rng = RandomState(seed: seed)
        return QwenVLForConditionalGeneration(QwenVLConfigurationTests.tiny(), rng: &rng)
    }

    static func image(grid: (Int, Int, Int), seed: UInt64) -> ProcessedImage {
        var rng = RandomState(seed: seed)
        return ProcessedImage(pixelValues: .randomNormal([grid.0 * grid.1 * grid.2, 1176], using: &rng), grid: grid)
    }

    /// Row: 2 text tokens, an image of 4×6 patches (2×3 merged), 2 text tokens, with left padding.
    @Test func ropeIndexFollowsTheImageGrid() throws {
        let m = Self.model()
        let c = m.configuration
        let row = [5, c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: 6) + [c.visionEndTokenID, 7]
        let batch = TokenBatch(leftPadding: [row, [1, 2, 3]], padID: 0, images: [Self.image(grid: (1, 4, 6), seed: 1)])
        let p = try m.positionIDs(for: batch)
        let t = batch.length
        #expect(Array(p.streams[0][0..<t]) == [0, 1, 2, 2, 2, 2, 2, 2, 5, 6])     // temporal
        #expect(Array(p.streams[1][0..<t]) == [0, 1, 2, 2, 2, 3, 3, 3, 5, 6])     // height
        #expect(Array(p.streams[2][0..<t]) == [0, 1, 2, 3, 4, 2, 3, 4, 5, 6])     // width
        // Second row: 7 pads at position 0, then 0, 1, 2 in every stream.
        for s in p.streams { #expect(Array(s[t..<(2 * t)]) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2]) }
        #expect(p.nextPositions(mask: batch.attentionMask) == [7, 3])
    }

    /// Prefill with an image then one token at a time through the cache gives the logits of one
    /// full forward over the whole sequence.
    @Test func cachedDecodingAfterAnImageMatchesFullForward() throws {
        let m = Self.model()
        let c = m.configuration
        let prompt = [3, c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: 4) + [c.visionEndTokenID, 9]
        let img = Self.image(grid: (1, 4, 4), seed: 2)
        let continuation = [11, 12, 13]
        let full = TokenBatch(leftPadding: [prompt + continuation, [4, 5] + continuation], padID: 0, images: [img])
        let fullPositions = try m.positionIDs(for: full)
        let expected = withoutGrad { try! m.logits(for: full, positions: fullPositions, cache: nil) }

        let pre = TokenBatch(leftPadding: [prompt, [4, 5]], padID: 0, images: [img])
        let cache = m.makeCache()
        let prePositions = try m.positionIDs(for: pre)
        var next = prePositions.nextPositions(mask: pre.attentionMask)
        var steps = [withoutGrad { try! m.logits(for: pre, positions: prePositions, cache: cache) }]
        for tok in continuation {
            let step = TokenBatch(ids: [tok, tok], batch: 2)
            steps.append(withoutGrad { try! m.logits(for: step, positions: PositionIDs(text: next, batch: 2), cache: cache) })
            next = next.map { $0 + 1 }
        }
        let incremental = Tensor.concatenate(steps, axis: 1)
        // Compare real positions only (padding rows are not attended and not compared).
        let mask = full.maskTensor.reshaped([2, full.length, 1])
        let diff = ((incremental - expected) * mask).abs().max().item
        #expect(diff < 1e-4, "max difference \(diff)")
    }

    @Test func inconsistentImageInputsAreTypedErrors() throws {
        let m = Self.model()
        let c = m.configuration
        let ids = [c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: 4) + [c.visionEndTokenID]
        #expect(throws: ModelInputError.imageCountMismatch(runs: 1, images: 0)) {
            _ = try m(TokenBatch(ids: ids, batch: 1))
        }
        #expect(throws: ModelInputError.imageTokensMismatch(tokens: 4, features: 6)) {
            _ = try m(TokenBatch(ids: ids, batch: 1, images: [Self.image(grid: (1, 4, 6), seed: 1)]))
        }
        var rng = RandomState(seed: 0)
        let narrow = ProcessedImage(pixelValues: .randomNormal([16, 100], using: &rng), grid: (1, 4, 4))
        #expect(throws: ModelInputError.self) { _ = try m(TokenBatch(ids: ids, batch: 1, images: [narrow])) }
        #expect(throws: ModelInputError.tokenOutOfRange(64, vocabularySize: 64)) { _ = try m(TokenBatch(ids: [1, 64], batch: 1)) }
    }
}
