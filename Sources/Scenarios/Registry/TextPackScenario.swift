import Foundation
import UniRLCore
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// One question for the text and VQA scenarios: the user's message, the images shown before it,
/// the ground truth and how answers are compared.
public struct AnswerTask: Sendable {
    public var question: String
    public var images: [RGBImage]
    public var answer: String
    public var matching: AnswerMatching
    /// The question kind (`addition`, `count`, …), for per-kind tables.
    public var subkind: String

    public init(question: String, images: [RGBImage] = [], answer: String, matching: AnswerMatching, subkind: String = "") {
        self.question = question
        self.images = images
        self.answer = answer
        self.matching = matching
        self.subkind = subkind
    }

    /// A ShapesWorld task of the tiny LM (text tasks compare as integers, VQA by VQA normalisation).
    public init(_ task: TinyLMTask) {
        self.init(
            question: task.prompt, images: task.image.map { [$0] } ?? [], answer: task.answer,
            matching: task.kind == .text ? .integer : task.kind == .vqa ? .vqa : .exact, subkind: task.subkind)
    }
}

/// A bad line of a prompt file.
public enum AnswerPromptFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case malformedLine(path: String, line: Int, reason: String)
    case empty(path: String, split: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): "cannot read the prompt file \(p): \(r)"
        case .malformedLine(let p, let l, let r): "\(p):\(l): \(r)"
        case .empty(let p, let s): "\(p) has no \(s) prompts"
        }
    }
}

/// A JSONL file of questions, one object per line:
///
///     {"question": "What is 3 + 4?", "answer": "7", "matching": "integer", "split": "train"}
///     {"question": "How many circles?", "answer": "2", "image": "scene.png", "split": "test"}
///
/// `matching` is `exact` (default), `vqa` or `integer`; `split` is `train` (default) or `test`;
/// `image` is a PNG path relative to the file. Blank lines are skipped; anything else that is
/// not such an object is an error naming the line.
public enum AnswerPromptFile {
    public static func read(_ url: URL) throws -> (train: [AnswerTask], test: [AnswerTask]) {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw AnswerPromptFileError.unreadable(path: url.path, reason: "\(error)")
        }
        var train: [AnswerTask] = [], test: [AnswerTask] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            func bad(_ reason: String) -> AnswerPromptFileError { .malformedLine(path: url.path, line: index + 1, reason: reason) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw bad("not a JSON object")
            }
            guard let question = object["question"] as? String, !question.isEmpty else { throw bad("no \"question\" string") }
            guard let answer = object["answer"] as? String ?? (object["answer"] as? Int).map(String.init) else {
                throw bad("no \"answer\" string")
            }
            let matchingName = object["matching"] as? String ?? "exact"
            guard let matching = AnswerMatching(rawValue: matchingName) else {
                throw bad("\"matching\" is '\(matchingName)'; expected exact, vqa or integer")
            }
            var images: [RGBImage] = []
            if let path = object["image"] as? String {
                let imageURL = URL(fileURLWithPath: path, relativeTo: url.deletingLastPathComponent())
                do { images = [try RGBImage(contentsOfPNG: imageURL)] } catch { throw bad("image \(path): \(error)") }
            }
            let task = AnswerTask(
                question: question, images: images, answer: answer, matching: matching,
                subkind: object["kind"] as? String ?? "")
            switch object["split"] as? String ?? "train" {
            case "train": train.append(task)
            case "test": test.append(task)
            case let other: throw bad("\"split\" is '\(other)'; expected train or test")
            }
        }
        if train.isEmpty { throw AnswerPromptFileError.empty(path: url.path, split: "train") }
        if test.isEmpty { throw AnswerPromptFileError.empty(path: url.path, split: "test") }
        return (train, test)
    }
}

/// GRPO on a language model's tokens for questions with exact answers (the text and VQA
/// scenarios): each prompt's group of completions is sampled by the `lm` expert, decoded
/// (lossily, so that any bytes are scored) and scored by a ``WeightedRewards`` of
/// ``AnswerAccuracyReward`` and ``AnswerFormatReward``.
public final class AnswerScenario: Scenario {
    public let lm: AnswerLanguageModel
    public let experts: [AnyPolicyExpert]
    public let reward: any RewardFunction<AnswerSample>
    public let train: [AnswerTask]
    public let test: [AnswerTask]
    /// Held-out questions of the other scenario (forgetting), if any.
    public let other: (name: String, tasks: [AnswerTask])?
    public let evaluationTokens: Int
    /// Completions sampled per held-out question for `pass_at_k` (0: none).
    public let passAtK: Int

    public init(
        lm: AnswerLanguageModel, train: [AnswerTask], test: [AnswerTask], other: (String, [AnswerTask])?,
        formatWeight: Float, evaluationTokens: Int, passAtK: Int = 0
    ) {
        self.lm = lm
        self.experts = [lm.expert]
        self.train = train
        self.test = test
        self.other = other.map { (name: $0.0, tasks: $0.1) }
        self.evaluationTokens = evaluationTokens
        self.passAtK = passAtK
        var terms: [(any RewardFunction<AnswerSample>, Float)] = [(AnswerAccuracyReward(), 1)]
        if formatWeight > 0 { terms.append((AnswerFormatReward(), formatWeight)) }
        self.reward = WeightedRewards(name: "answer", terms)
    }

    public func prompts(_ split: DatasetSplit) throws -> [AnswerTask] { split == .train ? train : test }

    public func promptKey(_ prompt: AnswerTask) -> String { prompt.question + "|" + prompt.answer }

    public func rollout(_ prompts: [AnswerTask], group: Int, using rng: inout RandomState) throws -> [Trajectory<AnswerSample>] {
        let encoded = try prompts.map { try lm.prompt(text: $0.question, images: $0.images) }
        let conditions = encoded.flatMap { Array(repeating: $0, count: group) }
        let rows = try lm.sample(conditions, using: &rng)
        return rows.enumerated().map { i, row in
            let task = prompts[i / group]
            let sample = AnswerSample(
                completion: lm.decode(row.tokens), groundTruth: task.answer, matching: task.matching,
                isTruncated: row.segment.isTruncated)
            return Trajectory(promptIndex: i / group, output: sample, segments: [row.segment])
        }
    }

    /// Greedy accuracy on `tasks` (the answer alone, format not required), the share of
    /// completions in the format, accuracy per question kind, and the completions themselves.
    public func accuracy(
        on tasks: [AnswerTask]
    ) throws -> (accuracy: Double, format: Double, bySubkind: [String: Double], completions: [String]) {
        let prompts = try tasks.map { try lm.prompt(text: $0.question, images: $0.images) }
        let completions = try lm.greedy(prompts, maxNewTokens: evaluationTokens)
        let accuracy = AnswerAccuracyReward(), format = ThinkAnswerFormat()
        var right = 0, formatted = 0, kindRight: [String: Int] = [:], kindCount: [String: Int] = [:]
        for (task, c) in zip(tasks, completions) {
            let ok = accuracy.isCorrect(AnswerSample(completion: c.text, groundTruth: task.answer, matching: task.matching))
            right += ok ? 1 : 0
            formatted += format.parse(c.text) == nil ? 0 : 1
            kindRight[task.subkind, default: 0] += ok ? 1 : 0
            kindCount[task.subkind, default: 0] += 1
        }
        let n = Double(max(tasks.count, 1))
        let byKind = Dictionary(uniqueKeysWithValues: kindCount.map { ($0.key, Double(kindRight[$0.key] ?? 0) / Double($0.value)) })
        return (Double(right) / n, Double(formatted) / n, byKind, completions.map(\.text))
    }

    /// `samples` completions per question of `tasks`, drawn as rollouts are (the expert's sampling
    /// options) from a fixed seed, 25 questions at a time: their mean accuracy and pass@`samples`,
    /// the share of questions with at least one right answer.
    public func sampledAccuracy(on tasks: [AnswerTask], samples: Int, seed: UInt64 = 0) throws -> (mean: Double, passAtK: Double) {
        var rng = RandomState(seed: seed)
        let accuracy = AnswerAccuracyReward()
        var right = 0, solved = 0
        for start in stride(from: 0, to: tasks.count, by: 25) {
            let chunk = Array(tasks[start..<min(start + 25, tasks.count)])
            let rows = try rollout(chunk, group: samples, using: &rng)
            var any = [Bool](repeating: false, count: chunk.count)
            for row in rows where accuracy.isCorrect(row.output) {
                right += 1
                any[row.promptIndex] = true
            }
            solved += any.filter { $0 }.count
        }
        let n = Double(max(tasks.count, 1))
        return (Double(right) / (n * Double(samples)), Double(solved) / n)
    }
}
