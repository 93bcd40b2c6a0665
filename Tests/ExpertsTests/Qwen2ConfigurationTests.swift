import Foundation
import Testing
@testable import UniRLExperts

@Suite struct Qwen2ConfigurationTests {
    let base = #"{"vocab_size": 97, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "#
        + #""num_attention_heads": 4, "num_key_value_heads": 2"#

    func decode(_ json: String) throws -> Qwen2Configuration {
        let c = try decodeModelConfiguration(Qwen2Configuration.self, from: Data(json.utf8), path: "config.json",
                                             knownKeys: Qwen2Configuration.knownKeys)
        try c.validate()
        return c
    }

    @Test func readsTheCurrentAndTheOlderRopeLayouts() throws {
        #expect(try decode(base + #", "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}"#).ropeTheta == 1_000_000)
        #expect(try decode(base + #", "rope_theta": 500000.0, "architectures": ["Qwen2ForCausalLM"]}"#).ropeTheta == 500_000)
        #expect(try decode(base + "}").ropeTheta == 10_000)
    }

    @Test func refusesUnknownKeysAndUnsupportedFeatures() {
        #expect(throws: ModelConfigurationError.unknownKeys(path: "config.json", keys: ["hiden_size"])) {
            try decode(base + #", "hiden_size": 3}"#)
        }
        #expect(throws: ModelConfigurationError.self) { try decode(base + #", "use_sliding_window": true}"#) }
        #expect(throws: ModelConfigurationError.self) { try decode(base + #", "hidden_act": "gelu"}"#) }
        #expect(throws: ModelConfigurationError.self) {
            try decode(#"{"vocab_size": 97, "hidden_size": 30, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4}"#)
        }
    }
}
