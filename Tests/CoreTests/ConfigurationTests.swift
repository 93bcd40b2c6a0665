import Foundation
import Testing
@testable import UniRLCore

@Suite struct ConfigurationTests {
    @Test func defaultsRoundTripThroughJSONAndYAML() throws {
        let c = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        #expect(try GRPOConfiguration(json: c.jsonString()) == c)
        #expect(try GRPOConfiguration(yaml: c.yamlString()) == c)
        #expect(c.trainer.groupSize == 8 && c.trainer.lossAggregation == .grpo && c.trainer.advantageScaling == .groupStd)
        #expect(c.experts["dm"]?.klVariant == .exact)
        #expect(c.jsonString().contains("\"loss_aggregation\""))
    }

    @Test func partialYAMLKeepsDefaults() throws {
        let seeded = GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)])
        let c = try seeded.merging(yaml: """
            run:
              steps: 7
            trainer:
              group_size: 16
              loss_aggregation: token_mean
            experts:
              lm:
                beta: 0.1
              planner:
                frozen: true
            """)
        #expect(c.run.steps == 7)
        #expect(c.trainer.groupSize == 16 && c.trainer.lossAggregation == .tokenMean)
        #expect(c.trainer.promptsPerStep == GRPOConfiguration().trainer.promptsPerStep)
        #expect(c.experts["lm"]?.beta == 0.1 && c.experts["lm"]?.clipLow == 0.2)
        #expect(c.experts["planner"]?.frozen == true && c.experts["planner"]?.learningRate == ExpertSettings().learningRate)
        #expect(c.experts["dm"] == .diffusionModel)
    }

    @Test func unknownKeysAreNamed() {
        #expect(throws: ConfigurationError.unknownKey("trainer.group_sise")) {
            try GRPOConfiguration(json: #"{"trainer": {"group_sise": 4}}"#)
        }
        #expect(throws: ConfigurationError.unknownKey("experts.lm.betta")) {
            try GRPOConfiguration(yaml: "experts:\n  lm:\n    betta: 1\n")
        }
        #expect(throws: ConfigurationError.unknownKey("runn")) { try GRPOConfiguration(yaml: "runn: {}\n") }
        #expect(throws: ConfigurationError.unknownKey("trainer.nope")) {
            try GRPOConfiguration().applying(overrides: ["trainer.nope=1"])
        }
    }

    @Test func commandLineOverrides() throws {
        let c = try GRPOConfiguration().addingDefaults(for: [("lm", .discrete), ("dm", .sde)]).applying(overrides: [
            "trainer.group_size=12", "experts.dm.kl_variant=flow_grpo", "trainer.beta_lm=0.5",
            "run.output_dir=123", "experts.lm.learning_rate=1e-4", "trainer.recompute_old_log_probs=false",
            "experts.critic.beta=0",
        ])
        #expect(c.trainer.groupSize == 12)
        #expect(c.experts["dm"]?.klVariant == .flowGRPO)
        #expect(c.experts["lm"]?.beta == 0.5)
        #expect(c.run.outputDir == "123")
        #expect(c.experts["lm"]?.learningRate == 1e-4)
        #expect(c.trainer.recomputeOldLogProbs == false)
        #expect(c.experts["critic"]?.beta == 0)
    }

    @Test func badValuesAreNamed() {
        #expect(throws: ConfigurationError.malformedOverride("trainer.group_size")) {
            try GRPOConfiguration().applying(overrides: ["trainer.group_size"])
        }
        #expect(throws: ConfigurationError.self) { try GRPOConfiguration().applying(overrides: ["trainer.group_size=abc"]) }
        do {
            _ = try GRPOConfiguration().applying(overrides: ["trainer.loss_aggregation=mean"])
            Issue.record("expected an error")
        } catch let ConfigurationError.invalidValue(key, _) {
            #expect(key == "trainer.loss_aggregation")
        } catch { Issue.record("\(error)") }
        var c = GRPOConfiguration()
        c.trainer.groupSize = 1
        #expect(throws: ConfigurationError.invalidValue(key: "trainer.group_size", reason: "must be ≥ 2 (a group needs two samples)")) {
            try c.validate()
        }
    }

    @Test func loadsFilesAndAppliesOverrides() throws {
        let dir = temporaryDirectory()
        let yaml = dir.appendingPathComponent("run.yaml"), json = dir.appendingPathComponent("run.json")
        try "trainer:\n  inner_epochs: 2\n".write(to: yaml, atomically: true, encoding: .utf8)
        try #"{"trainer": {"minibatches": 3}}"#.write(to: json, atomically: true, encoding: .utf8)
        let a = try GRPOConfiguration.load(from: yaml, overrides: ["trainer.inner_epochs=3"])
        #expect(a.trainer.innerEpochs == 3)
        let b = try GRPOConfiguration.load(from: json)
        #expect(b.trainer.minibatches == 3)
    }
}
