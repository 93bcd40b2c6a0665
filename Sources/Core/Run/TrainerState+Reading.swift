import Foundation
import UniRLTensor

extension TrainerState {
    /// The `format_version` this build writes and reads.
    public static let currentFormatVersion = 1

    /// Reads and checks `trainer_state.json`; errors name the file and the field.
    public static func read(from url: URL) throws -> TrainerState {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw CheckpointError.invalid(file: url.path, field: "", reason: "cannot be read: \(error.localizedDescription)")
        }
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: data) } catch let error as DecodingError {
            let (field, reason) = describe(error)
            throw CheckpointError.invalid(file: url.path, field: field, reason: reason)
        }
        try state.check(file: url.path)
        return state
    }

    /// Refuses values no run writes: an unknown format version, a negative step or optimizer step,
    /// a generator whose state is all zeros (xoshiro256 never leaves it), an empty tracker buffer.
    public func check(file: String) throws {
        func refuse(_ field: String, _ reason: String) -> CheckpointError { .invalid(file: file, field: field, reason: reason) }
        guard formatVersion == Self.currentFormatVersion else {
            throw refuse("format_version", "is \(formatVersion); this build reads version \(Self.currentFormatVersion)")
        }
        guard step >= 0 else { throw refuse("step", "is \(step), must be ≥ 0") }
        for (name, rng) in [("sampling_rng", samplingRNG), ("training_rng", trainingRNG)] where Self.isAllZero(rng) {
            throw refuse(name, "is the all-zero state, which the generator never reaches")
        }
        for (name, n) in optimizerSteps.sorted(by: { $0.key < $1.key }) where n < 0 {
            throw refuse("optimizer_steps.\(name)", "is \(n), must be ≥ 0")
        }
        guard tracker.bufferSize >= 1 else { throw refuse("tracker.bufferSize", "is \(tracker.bufferSize), must be ≥ 1") }
        guard tracker.minimumCount >= 1 else { throw refuse("tracker.minimumCount", "is \(tracker.minimumCount), must be ≥ 1") }
        for (prompt, rewards) in tracker.buffers where !rewards.allSatisfy(\.isFinite) {
            throw refuse("tracker.buffers", "holds NaN or infinity for prompt '\(prompt)'")
        }
    }

    /// Whether a generator's four state words are all zero (read through its encoding, which is
    /// the only view of them outside the engine).
    static func isAllZero(_ rng: RandomState) -> Bool {
        guard let node = try? ConfigNode.encoding(rng), case .object(let fields) = node else { return false }
        let words = ["s0", "s1", "s2", "s3"].compactMap { fields[$0] }
        return words.count == 4 && words.allSatisfy { $0 == .int(0) || $0 == .double(0) }
    }

    private static func describe(_ error: DecodingError) -> (String, String) {
        func path(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .typeMismatch(let t, let c): return (path(c.codingPath), "is not a valid \(t)")
        case .valueNotFound(let t, let c): return (path(c.codingPath), "is missing (\(t))")
        case .keyNotFound(let k, let c): return (path(c.codingPath + [k]), "is missing")
        case .dataCorrupted(let c): return (path(c.codingPath), c.debugDescription)
        @unknown default: return ("", "\(error)")
        }
    }
}
