import Foundation
import Testing

@testable import UniRLExperts

/// A `config.json` that declares an absurd size is refused before anything is allocated.
@Suite struct ModelConfigurationLimitsTests {
    func write(_ json: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-limits-\(UUID().uuidString.prefix(8)).json")
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test func tooManyLayersNamesTheSettingAndTheMemory() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/configs/qwen2_5_vl_3b_instruct.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture)) as! [String: Any]
        object["num_hidden_layers"] = 1_000_000_000_000
        let url = try write(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        do {
            _ = try QwenVLConfiguration.load(from: url)
            Issue.record("accepted 10¹² layers")
        } catch {
            let message = "\(error)"
            #expect(message.contains("'num_hidden_layers' is 1000000000000") && message.contains("4000 GB"), "\(message)")
        }
    }

    /// Found by fuzzing `model-config` (`Fuzz/Seeds/model-config/crash-huge-private-number`): the memory
    /// in the message overflowed `Int` for a number near 10¹¹³ and trapped.
    @Test func aSizeBeyondIntIsAnErrorNotATrap() throws {
        let url = try write(#"{"hidden_size": 8, "_s": 1.2e113}"#)
        do {
            _ = try MetaQueryConnectorConfiguration.load(from: url)
            Issue.record("accepted a size of 1.2e113")
        } catch {
            #expect("\(error)".contains("'_s'") && "\(error)".contains("e+104 GB"), "\(error)")
        }
    }

    @Test func nestedSizesAreCheckedToo() {
        let object: [String: Any] = ["text_config": ["hidden_size": 1 << 40], "rope_theta": 1e9]
        #expect(oversizedModelSetting(in: object)?.0 == "text_config.hidden_size")
        #expect(oversizedModelSetting(in: ["rope_theta": 1e9, "hidden_size": 2048]) == nil)
    }
}
