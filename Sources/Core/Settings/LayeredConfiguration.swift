import Foundation

/// A scenario without settings of its own: any `scenario.*` key is an unknown key.
public struct NoScenarioSettings: MergeableSettings, Sendable, Equatable {
    public init() {}
}

/// The configuration of one run of a scenario: the GRPO configuration (`run`, `trainer`,
/// `experts`) and the scenario's own settings (`scenario`), read in layers with one mechanism
/// (``MergeableSettings``):
///
///     defaults (the scenario's)  <  configuration file  <  command-line key=value overrides
///
/// A file is one document with the sections `run`, `trainer`, `experts` and `scenario`; an override
/// `scenario.KEY=VALUE` goes to the scenario's settings, any other to the GRPO configuration. The
/// `experts` map is closed: it holds exactly the scenario's experts (seed them with
/// ``GRPOConfiguration/addingDefaults(for:)``), and `experts.NAME.*` for another name is an error
/// naming it.
///
/// ```swift
/// let layers = LayeredConfiguration(configuration: defaults, scenario: TextToImageSettings())
/// let resolved = try layers.layering(file: URL(fileURLWithPath: "t2i.yaml"), overrides: ["scenario.guidance_scale=4"])
/// ```
public struct LayeredConfiguration<ScenarioSettings: MergeableSettings> {
    public var configuration: GRPOConfiguration
    public var scenario: ScenarioSettings

    public init(configuration: GRPOConfiguration, scenario: ScenarioSettings) {
        self.configuration = configuration
        self.scenario = scenario
    }

    /// These layers with a file (if any) and then `overrides` on top, validated.
    public func layering(file: URL?, overrides: [String]) throws -> LayeredConfiguration {
        var out = self
        if let file {
            var fields = try ConfigNode.read(contentsOf: file).fields
            if let section = fields.removeValue(forKey: "scenario") {
                out.scenario = try out.scenario.merging(section, keyPrefix: "scenario")
            }
            out.configuration = try out.configuration.merging(.object(fields), closedMaps: ["experts"])
        }
        for override in overrides {
            if override.hasPrefix("scenario.") {
                out.scenario = try out.scenario.applying(overrides: [String(override.dropFirst("scenario.".count))],
                                                         keyPrefix: "scenario")
            } else {
                out.configuration = try out.configuration.applying(overrides: [override], closedMaps: ["experts"])
            }
        }
        try out.configuration.validate()
        try out.scenario.validate()
        return out
    }
}
