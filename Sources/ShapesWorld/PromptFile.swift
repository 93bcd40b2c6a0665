import Foundation
import UniRLTensor

/// A prompt file that could not be read, with the file and line at fault.
public struct PromptFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    /// The 1-based line, when the problem is on one line.
    public var line: Int?
    public var reason: String

    public init(path: String, line: Int?, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    /// `prompts.jsonl:3: missing key 'prompt'`.
    public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
}

/// Reads and writes prompt files: JSON Lines, one ``ShapesPrompt`` per line in GenEval's
/// metadata format (`tag`, `include`, `exclude`, `prompt`). Blank lines are skipped.
///
/// ```swift
/// let prompts = try PromptFile.read(from: URL(fileURLWithPath: "eval_prompts.jsonl"))
/// try PromptFile.write(prompts, to: url)
/// ```
public enum PromptFile {
    /// The prompts in the file at `url`.
    ///
    /// - Throws: ``PromptFileError`` naming the file, and the line for malformed JSON, a
    ///   missing or unknown field, or an unsatisfiable specification.
    public static func read(from url: URL) throws -> [ShapesPrompt] {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw PromptFileError(path: url.path, line: nil, reason: "cannot read the file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PromptFileError(path: url.path, line: nil, reason: "the file is not UTF-8 text")
        }
        return try decode(text, path: url.path)
    }

    /// The prompts in JSONL `text`; `path` names the source in errors.
    public static func decode(_ text: String, path: String = "<prompts>") throws -> [ShapesPrompt] {
        var prompts: [ShapesPrompt] = []
        let decoder = JSONDecoder()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let prompt: ShapesPrompt
            do {
                prompt = try decoder.decode(ShapesPrompt.self, from: Data(line.utf8))
            } catch let error as DecodingError {
                throw PromptFileError(path: path, line: index + 1, reason: describe(error))
            } catch {
                throw PromptFileError(path: path, line: index + 1, reason: "\(error)")
            }
            if let problem = prompt.specificationError {
                throw PromptFileError(path: path, line: index + 1, reason: "invalid prompt '\(prompt.caption)': \(problem)")
            }
            prompts.append(prompt)
        }
        if prompts.isEmpty { throw PromptFileError(path: path, line: nil, reason: "the file holds no prompts") }
        return prompts
    }

    /// The prompts as JSONL: one line each (keys sorted, so the bytes are deterministic),
    /// ending in a newline.
    public static func encode(_ prompts: [ShapesPrompt]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try prompts.map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }

    /// Writes `prompts` to `url` as JSONL.
    public static func write(_ prompts: [ShapesPrompt], to url: URL) throws {
        try Data(encode(prompts).utf8).write(to: url, options: .atomic)
    }

    /// A one-line account of a decoding failure: what is wrong and where in the object.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        func at(_ codingPath: [CodingKey]) -> String { codingPath.isEmpty ? "" : " at '\(path(codingPath))'" }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'\(at(context.codingPath))"
        case .typeMismatch(let type, let context):
            return "expected \(typeName(type))\(at(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "expected \(typeName(type)), found null\(at(context.codingPath))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let reason = context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
                return "not a valid JSON object (\(reason))"
            }
            return "\(context.debugDescription)\(at(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "a \(type)"
        }
    }
}
