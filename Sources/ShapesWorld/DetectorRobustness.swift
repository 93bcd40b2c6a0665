import Foundation
import UniRLTensor

/// How well detections match a scene's ground truth.
public struct GroundTruthMatch: Sendable, Hashable, Codable {
    /// Ground-truth objects with a detection of the same shape and colour whose box overlaps
    /// theirs with IoU ≥ the threshold (each detection used once).
    public var matched: Int
    /// Ground-truth objects.
    public var groundTruth: Int
    /// Detections.
    public var detected: Int

    /// The detections are exactly the scene: every object found, nothing else.
    public var agrees: Bool { matched == groundTruth && detected == groundTruth }

    /// Matches `detected` (pixels of a `side × side` image) against `scene`.
    public init(detected: [DetectedObject], scene: Scene, imageSize side: Int, minimumIoU: Double = 0.5) {
        var used = Set<Int>()
        var matched = 0
        for object in scene.objects {
            let box = object.boundingBox(imageSize: side)
            let candidate = detected.indices
                .filter { !used.contains($0) && detected[$0].shape == object.shape && detected[$0].color == object.color }
                .max { detected[$0].box.intersectionOverUnion(box) < detected[$1].box.intersectionOverUnion(box) }
            if let j = candidate, detected[j].box.intersectionOverUnion(box) >= minimumIoU {
                used.insert(j)
                matched += 1
            }
        }
        self.matched = matched
        self.groundTruth = scene.objects.count
        self.detected = detected.count
    }
}

/// The detector's accuracy on corrupted renders (the README's robustness table).
public struct DetectorRobustnessReport: Sendable, Codable, Equatable {
    public struct Row: Sendable, Codable, Equatable {
        /// ``ImageCorruption/description``.
        public var corruption: String
        /// Random scenes whose detections agree exactly with the ground truth.
        public var sceneAgreement: Double
        /// Matched objects over ground-truth objects plus spurious detections.
        public var objectAccuracy: Double
        /// Evaluation prompts whose corrupted reference render ShapesEval still scores 1.
        public var promptAccuracy: Double
    }

    public var imageSize: Int
    public var sceneCount: Int
    public var promptCount: Int
    public var rows: [Row]

    /// A markdown table of the rows.
    public func markdownTable() -> String {
        func p(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        var lines = [
            "| corruption (\(imageSize)×\(imageSize)) | scenes exactly right (of \(sceneCount)) | objects right "
                + "| eval prompts passed (of \(promptCount)) |",
            "|---|---:|---:|---:|",
        ]
        for r in rows { lines.append("| \(r.corruption) | \(p(r.sceneAgreement)) | \(p(r.objectAccuracy)) | \(p(r.promptAccuracy)) |") }
        return lines.joined(separator: "\n")
    }
}

extension ShapesEval {
    /// Measures the detector under each corruption: on `sceneCount` random scenes (agreement
    /// with the ground truth) and on the reference renders of `prompts` (ShapesEval's verdict;
    /// the bundled evaluation set when `nil`), all rendered at `imageSize` and seeded by `seed`.
    public func robustnessReport(corruptions: [ImageCorruption] = ImageCorruption.standardLadder,
                                 sceneCount: Int = 1000, imageSize: Int = 32,
                                 prompts: [ShapesPrompt]? = nil, seed: UInt64 = 0) throws -> DetectorRobustnessReport {
        let renderer = SceneRenderer(size: imageSize)
        var rng = RandomState(seed: seed)
        let scenes = (0..<sceneCount).map { _ in Scene.random(using: &rng) }
        let promptSet = prompts ?? PromptGenerator.evaluationSet()
        let references = try promptSet.enumerated().map { i, p in
            var r = RandomState(seed: seed &+ 0x5EED &+ UInt64(i))
            return try Scene.sample(satisfying: p, using: &r)
        }
        let cleanScenes = Self.parallelMap(count: scenes.count) { renderer.render(scenes[$0]) }
        let cleanReferences = Self.parallelMap(count: references.count) { renderer.render(references[$0]) }
        var rows: [DetectorRobustnessReport.Row] = []
        for (k, corruption) in corruptions.enumerated() {
            let noiseSeed = seed &+ 1 &+ UInt64(k) &* 0x9E37_79B9
            let sceneResults: [Result<GroundTruthMatch, Error>] = Self.parallelMap(count: scenes.count) { i in
                var r = RandomState(seed: noiseSeed &+ UInt64(i))
                return Result {
                    try GroundTruthMatch(detected: detector.detect(corruption.apply(to: cleanScenes[i], using: &r)),
                                         scene: scenes[i], imageSize: imageSize)
                }
            }
            let promptResults: [Result<Bool, Error>] = Self.parallelMap(count: references.count) { i in
                var r = RandomState(seed: noiseSeed &+ 0xABCDEF &+ UInt64(i))
                return Result { try score(prompt: promptSet[i], image: corruption.apply(to: cleanReferences[i], using: &r)) }
            }
            let matches = try sceneResults.map { try $0.get() }
            let passed = try promptResults.map { try $0.get() }
            let matched = matches.reduce(0) { $0 + $1.matched }
            let denominator = matches.reduce(0) { $0 + $1.groundTruth + max(0, $1.detected - $1.matched) }
            rows.append(.init(corruption: corruption.description,
                              sceneAgreement: Double(matches.filter(\.agrees).count) / Double(max(1, matches.count)),
                              objectAccuracy: Double(matched) / Double(max(1, denominator)),
                              promptAccuracy: Double(passed.filter { $0 }.count) / Double(max(1, passed.count))))
        }
        return DetectorRobustnessReport(imageSize: imageSize, sceneCount: sceneCount, promptCount: promptSet.count, rows: rows)
    }
}
