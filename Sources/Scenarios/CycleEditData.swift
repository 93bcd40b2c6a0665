import Foundation
import UniRLShapesWorld
import UniRLTensor

/// One ShapesWorld editing quadruple with its images and captions, as the editing scenarios use
/// it: the source and target scenes rendered at the tiny models' 32 × 32, and their full
/// descriptions (``ShapesCLIP/caption(of:)``), which the CLIP direction reward compares.
public struct EditExample: Sendable {
    public var sample: EditSample
    public var source: RGBImage
    public var target: RGBImage
    public var sourceCaption: String
    public var targetCaption: String

    public init(_ sample: EditSample, imageSize: Int = TinySana.imageSize) {
        let renderer = SceneRenderer(size: imageSize)
        self.sample = sample
        source = renderer.render(sample.source)
        target = renderer.render(sample.target)
        sourceCaption = ShapesCLIP.caption(of: sample.source)
        targetCaption = ShapesCLIP.caption(of: sample.target)
    }

    /// The quadruple read backwards: the target edited by the reverse instruction gives the source.
    public var reversed: EditExample {
        var r = self
        r.sample = EditSample(source: sample.target, instruction: sample.reverseInstruction, target: sample.source,
                              reverseInstruction: sample.instruction, kind: sample.kind)
        swap(&r.source, &r.target)
        swap(&r.sourceCaption, &r.targetCaption)
        return r
    }

    /// The side of the split this quadruple falls on: ShapesWorld's caption hash
    /// (``PromptSplit/of(caption:)``) of the unordered pair of scene descriptions, so a quadruple
    /// and its reverse fall on the same side and an evaluation edit's pair of scene descriptions
    /// is never seen in training (neither by the edit cold start nor by the RL).
    public var split: PromptSplit { Self.split(sourceCaption: sourceCaption, targetCaption: targetCaption) }

    static func split(sourceCaption: String, targetCaption: String) -> PromptSplit {
        PromptSplit.of(caption: [sourceCaption, targetCaption].sorted().joined(separator: " => "))
    }
}

/// Drawing editing quadruples on one side of the split, deterministically from a seed.
public enum EditExamples {
    /// The next quadruple of `EditGenerator` (uniform kind) that falls on `split`.
    public static func next(split: PromptSplit, using rng: inout RandomState) -> EditExample {
        let generator = EditGenerator()
        while true {
            let sample = generator.sample(using: &rng)
            let split0 = EditExample.split(sourceCaption: ShapesCLIP.caption(of: sample.source),
                                           targetCaption: ShapesCLIP.caption(of: sample.target))
            if split0 == split { return EditExample(sample) }
        }
    }

    /// `count` quadruples of `split` drawn with `seed`.
    public static func draw(count: Int, split: PromptSplit, seed: UInt64) -> [EditExample] {
        var rng = RandomState(seed: seed)
        return (0..<Swift.max(count, 0)).map { _ in next(split: split, using: &rng) }
    }
}
