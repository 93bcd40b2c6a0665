import Foundation
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// The held-out measurement of an editing model on ShapesWorld quadruples.
public struct EditEvaluationReport: Sendable, Codable, Equatable {
    public var edits: Int
    /// The share of edits whose detected scene is the target scene: the same objects (shape,
    /// colour, grid cell), nothing more, by ShapesEval's detector.
    public var editSuccess: Double
    /// The share of reconstructions whose detected scene is the source scene.
    public var cycleSuccess: Double
    /// Mean CLIP direction (source → edit against source caption → target caption), ShapesCLIP.
    public var clipDirection: Double
    /// Mean CLIP-I of the edit with the source (how much of the source an edit keeps) and of the
    /// edit with the target.
    public var clipIEditSource: Double
    public var clipIEditTarget: Double
    /// Mean CLIP-I of the reconstruction with the source.
    public var clipIReconstructionSource: Double
    /// Edit success per kind of edit.
    public var successByKind: [String: Double]

    enum CodingKeys: String, CodingKey {
        case edits, editSuccess = "edit_success", cycleSuccess = "cycle_success", clipDirection = "clip_direction"
        case clipIEditSource = "clip_i_edit_source", clipIEditTarget = "clip_i_edit_target"
        case clipIReconstructionSource = "clip_i_reconstruction_source", successByKind = "success_by_kind"
    }

    /// The numbers by name, for `summary.json`.
    public var metrics: [String: Double] {
        var m = ["edit_success": editSuccess, "cycle_success": cycleSuccess, "clip_direction": clipDirection,
                 "clip_i_edit_source": clipIEditSource, "clip_i_edit_target": clipIEditTarget,
                 "clip_i_reconstruction_source": clipIReconstructionSource]
        for (k, v) in successByKind { m["edit_success_" + k] = v }
        return m
    }

    /// A Markdown table.
    public func table() -> String {
        func p(_ v: Double) -> String { String(format: "%.1f %%", 100 * v) }
        var lines = ["| metric | value |", "|---|---:|", "| exact edit success | \(p(editSuccess)) |",
                     "| cycle success (reconstruction = source) | \(p(cycleSuccess)) |",
                     String(format: "| CLIP direction | %.4f |", clipDirection),
                     String(format: "| CLIP-I(edit, source) | %.4f |", clipIEditSource),
                     String(format: "| CLIP-I(edit, target) | %.4f |", clipIEditTarget),
                     String(format: "| CLIP-I(reconstruction, source) | %.4f |", clipIReconstructionSource)]
        for k in successByKind.keys.sorted() { lines.append("| success: \(k) | \(p(successByKind[k]!)) |") }
        return lines.joined(separator: "\n")
    }
}

/// Edits held-out quadruples and their reverse with the deterministic sampler of `unirl generate`
/// (``UnifiedImageGenerator/edit(instructions:sources:settings:progress:)``) and measures them.
public struct CycleEditEvaluation {
    public var detector = ShapeDetector()

    public init() {}

    /// Whether the objects detected in `image` are exactly `scene`'s: the same multiset of
    /// (shape, colour, grid cell).
    public func matches(_ image: RGBImage, scene: Scene) -> Bool {
        func key(_ shape: ShapeKind, _ color: PaletteColor, _ cell: GridCell) -> String { "\(shape.name) \(color.name) \(cell.name)" }
        let found = detector.detect(image).map { key($0.shape, $0.color, $0.cell(imageWidth: image.width, imageHeight: image.height)) }
        return found.sorted() == scene.objects.map { key($0.shape, $0.color, $0.cell) }.sorted()
    }

    /// The edits and reconstructions of `examples` (one each, noise from `settings.seed`).
    public func draw(_ generator: UnifiedImageGenerator, examples: [EditExample], settings: UnifiedGenerationSettings,
                     progress: (Int) -> Void = { _ in }) throws -> (edited: [RGBImage], reconstructed: [RGBImage]) {
        let edited = try generator.edit(instructions: examples.map(\.sample.instruction), sources: examples.map(\.source),
                                        settings: settings, progress: progress).map { $0[0] }
        var reverse = settings
        reverse.seed = settings.seed &+ 1
        let reconstructed = try generator.edit(instructions: examples.map(\.sample.reverseInstruction), sources: edited,
                                               settings: reverse, progress: { progress(examples.count + $0) }).map { $0[0] }
        return (edited, reconstructed)
    }

    /// The report of drawn edits; `clip` (ShapesCLIP) gives the CLIP numbers.
    public func report(examples: [EditExample], edited: [RGBImage], reconstructed: [RGBImage], clip: CLIPEmbedder) async throws
        -> EditEvaluationReport
    {
        let n = examples.count
        guard n > 0, edited.count == n, reconstructed.count == n else {
            throw UnifiedModelError.invalidRequest("\(edited.count) edits and \(reconstructed.count) reconstructions for \(n) quadruples")
        }
        let success = (0..<n).map { matches(edited[$0], scene: examples[$0].sample.target) }
        let cycle = (0..<n).map { matches(reconstructed[$0], scene: examples[$0].sample.source) }
        let direction = try await CLIPDirection(clip: clip).scores(for: (0..<n).map {
            ImageEdit(source: examples[$0].source, edited: edited[$0], sourceCaption: examples[$0].sourceCaption,
                      targetCaption: examples[$0].targetCaption)
        })
        let similarity = CLIPImageSimilarity(clip: clip)
        let keep = try await similarity.scores(for: (0..<n).map { ImagePair(image: edited[$0], reference: examples[$0].source) })
        let reach = try await similarity.scores(for: (0..<n).map { ImagePair(image: edited[$0], reference: examples[$0].target) })
        let back = try await similarity.scores(for: (0..<n).map { ImagePair(image: reconstructed[$0], reference: examples[$0].source) })
        func mean(_ v: [Float?]) -> Double { v.compactMap { $0 }.reduce(0.0) { $0 + Double($1) } / Double(max(v.count, 1)) }
        func share(_ v: [Bool]) -> Double { Double(v.filter { $0 }.count) / Double(max(v.count, 1)) }
        var byKind: [String: Double] = [:]
        for kind in EditKind.allCases {
            let rows = (0..<n).filter { examples[$0].sample.kind == kind }
            if !rows.isEmpty { byKind[kind.rawValue] = share(rows.map { success[$0] }) }
        }
        return EditEvaluationReport(edits: n, editSuccess: share(success), cycleSuccess: share(cycle), clipDirection: mean(direction),
                                    clipIEditSource: mean(keep), clipIEditTarget: mean(reach), clipIReconstructionSource: mean(back),
                                    successByKind: byKind)
    }

    /// Rows of (source | edit | reconstruction | target) for the first `count` quadruples.
    public static func grid(examples: [EditExample], edited: [RGBImage], reconstructed: [RGBImage], count: Int = 8) -> RGBImage {
        let k = min(count, examples.count, edited.count, reconstructed.count)
        let cells = (0..<k).flatMap { [examples[$0].source, edited[$0], reconstructed[$0], examples[$0].target] }
        return ImageGrid.tile(cells, columns: 4).upscaled(by: 3)
    }
}
