import Foundation
import Synchronization
import UniRLCore

/// Why a scenario could not be found.
public enum ScenarioRegistryError: Error, CustomStringConvertible, Equatable {
    case unknownScenario(String, known: [String])

    public var description: String {
        switch self {
        case .unknownScenario(let n, let known): "no scenario named '\(n)' (known: \(known.joined(separator: ", ")))"
        }
    }
}

/// A registered pack with its type erased: what `unirl train` lists and runs.
public struct AnyScenarioPack: Sendable {
    public let name: String
    public let summary: String
    private let runPack: @Sendable (URL?, [String]) async throws -> ScenarioSummary

    public init<P: ScenarioPack>(_ pack: P) {
        name = pack.name
        summary = pack.summary
        runPack = { try await ScenarioRunner(pack: pack).run(configFile: $0, overrides: $1) }
    }

    /// Runs the pack: defaults < `configFile` < `overrides`.
    @discardableResult
    public func run(configFile: URL?, overrides: [String]) async throws -> ScenarioSummary {
        try await runPack(configFile, overrides)
    }
}

/// The scenarios `unirl train --scenario NAME` knows, by name. ``shared`` holds the bundled ones;
/// a user's package registers its own and runs them through the same front end
/// (`UniRLCommandLine.TrainCommand`).
public final class ScenarioRegistry: Sendable {
    private let packs: Mutex<[String: AnyScenarioPack]>

    /// An empty registry.
    public init() { packs = Mutex([:]) }

    /// The bundled scenarios: `toy-tokens`, `toy-flow`, `jpeg-compressibility`, `jpeg-incompressibility`,
    /// `t2i`, `text`, `vqa`, `cot-t2i`, `reflection`.
    public static let shared: ScenarioRegistry = {
        let registry = ScenarioRegistry()
        registry.register(ToyTokensPack())
        registry.register(ToyFlowPack())
        registry.register(JPEGPack(direction: .compressibility))
        registry.register(JPEGPack(direction: .incompressibility))
        registry.register(TextToImagePack())
        registry.register(AnswerPack(task: .text))
        registry.register(AnswerPack(task: .vqa))
        registry.register(ChainOfThoughtPack())
        registry.register(ReflectionPack())
        return registry
    }()

    /// Adds `pack`, replacing one of the same name.
    public func register<P: ScenarioPack>(_ pack: P) {
        let erased = AnyScenarioPack(pack)
        packs.withLock { $0[pack.name] = erased }
    }

    /// Every registered pack, sorted by name.
    public var all: [AnyScenarioPack] { packs.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// The pack named `name`.
    public func pack(named name: String) throws -> AnyScenarioPack {
        let (pack, names) = packs.withLock { ($0[name], $0.keys.sorted()) }
        guard let pack else { throw ScenarioRegistryError.unknownScenario(name, known: names) }
        return pack
    }
}
