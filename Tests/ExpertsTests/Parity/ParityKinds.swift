import UniRLTensor

/// The runners for each fixture kind. Model families add theirs here as they land.
enum ParityKinds {
    static let all: [String: ParityRunner] = [:]
}
