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
    private let runPack: @Sendable (URL?, [String], DataParallel?) async throws -> ScenarioSummary

    public init<P: ScenarioPack>(_ pack: P) {
        name = pack.name
        summary = pack.summary
        runPack = { file, overrides, dataParallel in
            var runner = ScenarioRunner(pack: pack)
            runner.dataParallel = dataParallel
            return try await runner.run(configFile: file, overrides: overrides)
        }
    }

    /// Runs the pack: defaults < `configFile` < `overrides`; data-parallel over the ranks of
    /// `dataParallel` when given.
    @discardableResult
    public func run(configFile: URL?, overrides: [String], dataParallel: DataParallel? = nil) async throws -> ScenarioSummary {
        try await runPack(configFile, overrides, dataParallel)
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
    /// `t2i`, `cycle-edit`, `text`, `vqa`, `cot-t2i`, `reflection`.
    public static let shared: ScenarioRegistry = {
        let registry = ScenarioRegistry()
        registry.register(ToyTokensPack())
        registry.register(ToyFlowPack())
        registry.register(JPEGPack(direction: .compressibility))
        registry.register(JPEGPack(direction: .incompressibility))
        registry.register(TextToImagePack())
        registry.register(CycleEditPack())
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
