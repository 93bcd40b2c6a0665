import Foundation

extension GRPOConfiguration: MergeableSettings {
    /// `experts` takes new entries, each starting from ``ExpertSettings/init()``;
    /// `trainer.reward_weights` takes new reward names, each starting from weight 1.
    public static var openMaps: [String: ConfigNode] {
        ["experts": (try? ConfigNode.encoding(ExpertSettings())) ?? .object([:]), "trainer.reward_weights": .double(1)]
    }

    /// Reads a JSON document; keys not given keep their defaults.
    public init(json: String) throws {
        self = try GRPOConfiguration().merging(json: json)
    }

    /// Reads a YAML document; keys not given keep their defaults.
    public init(yaml: String) throws {
        self = try GRPOConfiguration().merging(yaml: yaml)
    }

    /// Reads `url` (JSON when it ends in `.json`, YAML otherwise) onto `defaults`, then applies
    /// `overrides` and validates: defaults < file < overrides.
    public static func load(from url: URL?, onto defaults: GRPOConfiguration = GRPOConfiguration(),
                            overrides: [String] = []) throws -> GRPOConfiguration {
        var config = defaults
        if let url { config = try config.merging(ConfigNode.read(contentsOf: url)) }
        config = try config.applying(overrides: overrides)
        try config.validate()
        return config
    }

    /// `trainer.<field>_<expert>=v` is a shorthand for `experts.<expert>.<field>=v` (e.g.
    /// `trainer.beta_lm=0.04`) for the experts the configuration lists.
    public func resolveOverridePath(_ path: [String]) -> [String] {
        guard path.count == 2, path[0] == "trainer", !encodedKeys(TrainerSettings()).contains(path[1]) else { return path }
        for expert in experts.keys.sorted(by: { $0.count > $1.count }) where path[1].hasSuffix("_" + expert) {
            let field = String(path[1].dropLast(expert.count + 1))
            if encodedKeys(ExpertSettings()).contains(field) { return ["experts", expert, field] }
        }
        return path
    }

    /// This configuration with an entry, holding its kind's defaults
    /// (``ExpertSettings/defaults(for:)``), for every expert in `experts` that has none.
    public func addingDefaults(for experts: [(name: String, kind: ExpertKind)]) -> GRPOConfiguration {
        var c = self
        for (name, kind) in experts where c.experts[name] == nil { c.experts[name] = .defaults(for: kind) }
        return c
    }
}
