import Foundation
import UniRLTensor

/// The verdict on one image for one prompt.
public struct PromptEvaluation: Sendable, Hashable, Codable {
    /// 1 when every rule of the prompt holds.
    public var correct: Bool
    /// What failed, in GenEval's words ("expected circle>=3, found 2"); empty when correct.
    public var reasons: [String]
    /// What the detector found.
    public var objects: [DetectedObject]
    /// The share of the prompt's `include` and `exclude` entries that hold, in [0, 1]: a denser
    /// reward than ``correct`` (flow_grpo trains on GenEval's partial score and reports the strict one).
    public var partialScore: Double

    public init(correct: Bool, reasons: [String], objects: [DetectedObject], partialScore: Double) {
        self.correct = correct
        self.reasons = reasons
        self.objects = objects
        self.partialScore = partialScore
    }
}

/// ShapesEval: the GenEval of ShapesWorld. A ``ShapeDetector`` turns an image into objects and
/// GenEval's rules score it against a ``ShapesPrompt``, 0 or 1.
///
/// The rules, applied to the `include` and `exclude` entries of the prompt (so every category is
/// scored by the same code, as in GenEval's `evaluate`):
/// - **include**: at least `count` detected objects of the entry's shape, and of its colour if it
///   names one (single object, two objects, colours, colour attribution: the colour is bound to
///   the shape it is named with);
/// - **position** `[relation, j]`: some object matching the entry lies in `relation` to some
///   object matching include entry `j`, judged by GenEval's centre-offset rule
///   (``SpatialRelation/relations(of:relativeTo:)``). GenEval checks its most confident
///   detections; this detector has no confidences, so any matching pair counts;
/// - **exclude**: fewer than `count` objects of the entry's shape (and colour) — counting
///   prompts exclude `n + 1`, so the count is exact.
///
/// ```swift
/// let eval = ShapesEval()
/// let ok = eval.score(prompt: prompt, image: image)
/// let report = eval.evaluate(prompts: prompts, images: images)
/// print(report.table())
/// ```
public struct ShapesEval: Sendable {
    public var detector: ShapeDetector

    public init(detector: ShapeDetector = ShapeDetector()) { self.detector = detector }

    /// Whether `image` satisfies `prompt`.
    public func score(prompt: ShapesPrompt, image: RGBImage) -> Bool {
        evaluate(prompt: prompt, image: image).correct
    }

    /// Scores a batch, one 0/1 per (prompt, image) pair, using all cores.
    public func scores(prompts: [ShapesPrompt], images: [RGBImage]) -> [Bool] {
        evaluations(prompts: prompts, images: images).map(\.correct)
    }

    /// The verdict, the reasons for a failure, and the detected objects.
    public func evaluate(prompt: ShapesPrompt, image: RGBImage) -> PromptEvaluation {
        Self.evaluate(prompt: prompt, objects: detector.detect(image))
    }

    /// Partial scores (the share of the prompt's entries that hold) for a batch, in parallel.
    public func partialScores(prompts: [ShapesPrompt], images: [RGBImage]) -> [Double] {
        evaluations(prompts: prompts, images: images).map(\.partialScore)
    }

    /// Verdicts for a batch of (prompt, image) pairs, computed in parallel.
    public func evaluations(prompts: [ShapesPrompt], images: [RGBImage]) -> [PromptEvaluation] {
        precondition(prompts.count == images.count, "\(prompts.count) prompts for \(images.count) images")
        return Self.parallelMap(count: prompts.count) { evaluate(prompt: prompts[$0], image: images[$0]) }
    }

    /// Scores a batch and tabulates it per category, as GenEval's summary does.
    ///
    /// `promptIndices` groups several images of one prompt (GenEval draws four per prompt); by
    /// default each image is its own prompt.
    public func evaluate(prompts: [ShapesPrompt], images: [RGBImage], promptIndices: [Int]? = nil) -> ShapesEvalReport {
        let results = evaluations(prompts: prompts, images: images)
        let indices = promptIndices ?? Array(prompts.indices)
        let records = zip(zip(prompts, results), indices).map { pair, index in
            ShapesEvalReport.ImageResult(promptIndex: index, category: pair.0.category, caption: pair.0.caption,
                                         correct: pair.1.correct, reasons: pair.1.reasons)
        }
        return ShapesEvalReport(results: records)
    }

    /// GenEval's rules applied to a list of objects (detected, or ground truth through
    /// ``DetectedObject/init(groundTruth:imageSize:)``).
    public static func evaluate(prompt: ShapesPrompt, objects: [DetectedObject]) -> PromptEvaluation {
        var reasons: [String] = []
        var groups: [[DetectedObject]?] = []
        var met = 0
        for requirement in prompt.include {
            let found = objects.filter { requirement.matches(shape: $0.shape, color: $0.color) }
            var matched = true
            if found.count < requirement.count {
                matched = false
                let what = requirement.color.map { "\($0.name) \(requirement.shape.name)" } ?? requirement.shape.name
                var reason = "expected \(what)>=\(requirement.count), found \(found.count)"
                if requirement.color != nil {
                    let others = objects.filter { $0.shape == requirement.shape }.map(\.color.name)
                    if !others.isEmpty { reason += " (\(requirement.shape.plural) found: \(others.joined(separator: ", ")))" }
                }
                reasons.append(reason)
            } else if let position = requirement.position {
                if position.target < 0 || position.target >= groups.count {
                    matched = false
                    reasons.append("position refers to include[\(position.target)], which is not an earlier entry")
                } else if let targets = groups[position.target] {
                    let holds = found.contains { a in
                        targets.contains { b in
                            a != b && SpatialRelation.relations(of: a.box, relativeTo: b.box).contains(position.relation)
                        }
                    }
                    if !holds {
                        matched = false
                        let seen = found.flatMap { a in targets.filter { $0 != a }.flatMap { b in
                            SpatialRelation.relations(of: a.box, relativeTo: b.box).map(\.rawValue)
                        } }
                        let seenText = seen.isEmpty ? "no relation" : Set(seen).sorted().joined(separator: " and ")
                        reasons.append("expected \(requirement.phrase) \(position.relation.rawValue) target, found \(seenText)")
                    }
                } else {
                    matched = false
                    reasons.append("no target for \(requirement.phrase) to be \(position.relation.rawValue)")
                }
            }
            groups.append(matched ? found : nil)
            if matched { met += 1 }
        }
        for requirement in prompt.exclude {
            let found = objects.filter { requirement.matches(shape: $0.shape, color: $0.color) }
            if found.count >= requirement.count {
                let what = requirement.color.map { "\($0.name) \(requirement.shape.name)" } ?? requirement.shape.name
                reasons.append("expected \(what)<\(requirement.count), found \(found.count)")
            } else {
                met += 1
            }
        }
        let checks = prompt.include.count + prompt.exclude.count
        return PromptEvaluation(correct: reasons.isEmpty, reasons: reasons, objects: objects,
                                partialScore: checks == 0 ? 1 : Double(met) / Double(checks))
    }

    /// `body(i)` for `i` in `0..<count`, in parallel on all cores, in order.
    static func parallelMap<T: Sendable>(count: Int, _ body: (Int) -> T) -> [T] {
        var out = [T?](repeating: nil, count: count)
        out.withUnsafeMutableBufferPointer { buffer in
            let slots = UncheckedSendable(buffer)
            Parallel.forEachRange(count, costPerItem: 40_000) { range in
                for i in range { slots.value[i] = body(i) }
            }
        }
        return out.map { $0! }
    }
}

/// ShapesEval's results for a batch: per image, per category and overall, as in GenEval's
/// summary table.
public struct ShapesEvalReport: Sendable, Codable, Equatable {
    /// One scored image.
    public struct ImageResult: Sendable, Codable, Equatable {
        public var promptIndex: Int
        public var category: PromptCategory
        public var caption: String
        public var correct: Bool
        public var reasons: [String]

        public init(promptIndex: Int, category: PromptCategory, caption: String, correct: Bool, reasons: [String]) {
            self.promptIndex = promptIndex
            self.category = category
            self.caption = caption
            self.correct = correct
            self.reasons = reasons
        }

        private enum CodingKeys: String, CodingKey {
            case promptIndex = "prompt_index", category = "tag", caption = "prompt", correct, reasons
        }
    }

    /// One row of the table.
    public struct CategoryScore: Sendable, Codable, Equatable {
        public var category: PromptCategory
        public var correct: Int
        public var total: Int
        /// `correct / total`.
        public var accuracy: Double

        private enum CodingKeys: String, CodingKey { case category = "tag", correct, total, accuracy }
    }

    public var results: [ImageResult]
    /// Per category, in GenEval's order, for the categories present.
    public var categories: [CategoryScore]
    /// GenEval's overall score: the mean of the per-category accuracies.
    public var overall: Double
    /// The fraction of images scored correct.
    public var imageAccuracy: Double
    /// The fraction of prompts with at least one image scored correct (GenEval's "% correct prompts").
    public var promptAccuracy: Double
    /// Distinct prompts scored.
    public var promptCount: Int

    private enum CodingKeys: String, CodingKey {
        case results, categories, overall, imageAccuracy = "image_accuracy", promptAccuracy = "prompt_accuracy",
             promptCount = "prompt_count"
    }

    public init(results: [ImageResult]) {
        self.results = results
        var rows: [CategoryScore] = []
        for category in PromptCategory.allCases {
            let rs = results.filter { $0.category == category }
            guard !rs.isEmpty else { continue }
            let c = rs.filter(\.correct).count
            rows.append(CategoryScore(category: category, correct: c, total: rs.count, accuracy: Double(c) / Double(rs.count)))
        }
        categories = rows
        overall = rows.isEmpty ? 0 : rows.map(\.accuracy).reduce(0, +) / Double(rows.count)
        imageAccuracy = results.isEmpty ? 0 : Double(results.filter(\.correct).count) / Double(results.count)
        var byPrompt: [Int: Bool] = [:]
        for r in results { byPrompt[r.promptIndex] = (byPrompt[r.promptIndex] ?? false) || r.correct }
        promptCount = byPrompt.count
        promptAccuracy = byPrompt.isEmpty ? 0 : Double(byPrompt.values.filter { $0 }.count) / Double(byPrompt.count)
    }

    /// The accuracy of one category, or `nil` if none of its prompts were scored.
    public func accuracy(of category: PromptCategory) -> Double? {
        categories.first { $0.category == category }?.accuracy
    }

    /// GenEval's summary as text:
    ///
    /// ```
    /// Total images: 600
    /// Total prompts: 600
    /// % correct images: 97.17%
    /// % correct prompts: 97.17%
    ///
    /// single_object  = 100.00% (100 / 100)
    /// …
    /// Overall score (avg. over tasks): 0.97167
    /// ```
    public func table() -> String {
        func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
        var lines = [
            "Summary",
            "=======",
            "Total images: \(results.count)",
            "Total prompts: \(promptCount)",
            "% correct images: \(percent(imageAccuracy))",
            "% correct prompts: \(percent(promptAccuracy))",
            "",
            "Task breakdown",
            "==============",
        ]
        for row in categories {
            let name = row.category.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
            lines.append("\(name) = \(percent(row.accuracy)) (\(row.correct) / \(row.total))")
        }
        lines.append("")
        lines.append(String(format: "Overall score (avg. over tasks): %.5f", overall))
        return lines.joined(separator: "\n")
    }
}
