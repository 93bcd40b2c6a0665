import Foundation
import Testing
import UniRLTensor

@testable import UniRLExperts

/// A byte-level BPE `tokenizer.json` with no merges and Qwen's ChatML and vision specials after
/// the 256 byte tokens (ids 256…), enough for a tiny model's prompts.
enum TinyTokenizerFile {
    static let specials = [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    ]
    static var vocabularySize: Int { 256 + specials.count }

    static func write(to url: URL) throws {
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[ByteLevelAlphabet.string(of: [UInt8(b)])] = b }
        let object: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "added_tokens": specials.enumerated().map { ["id": 256 + $0.offset, "content": $0.element, "special": true] },
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": SplitPattern.qwen2.regex], "behavior": "Isolated", "invert": false],
                    ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
                ],
            ],
            "decoder": ["type": "ByteLevel"],
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }
}

/// `unirl generate`'s engine: prompts → images with a tiny random unified model written to disk.
@Suite struct UnifiedGenerationTests {
    static func folder() throws -> URL {
        var rng = RandomState(seed: 21)
        var lmConfiguration = UnifiedTestModels.lmConfiguration()
        lmConfiguration.text.vocabSize = TinyTokenizerFile.vocabularySize
        lmConfiguration.imageTokenID = 261; lmConfiguration.videoTokenID = 262
        lmConfiguration.visionStartTokenID = 259; lmConfiguration.visionEndTokenID = 260
        let lm = QwenVLForConditionalGeneration(lmConfiguration, rng: &rng)
        let connector = try MetaQueryConnector(configuration: UnifiedTestModels.connectorConfiguration, rng: &rng)
        let dm = try SanaTransformer(configuration: UnifiedTestModels.transformerConfiguration, referencePath: true, rng: &rng)
        let ae = try AutoencoderDC(configuration: UnifiedTestModels.autoencoderConfiguration, rng: &rng)
        let model = try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: ae)
        let dir = UnifiedTestModels.temporaryDirectory("generate")
        try model.save(to: dir)
        try TinyTokenizerFile.write(to: dir.appendingPathComponent("lm/tokenizer.json"))
        return dir
    }

    @Test func generatesAndEditsDeterministically() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let generator = try UnifiedImageGenerator(directory: dir)
        let settings = UnifiedGenerationSettings(steps: 2, samples: 2, seed: 5, batchSize: 3)
        var done: [Int] = []
        let images = try generator.generate(captions: ["a red circle", "two blue squares"], settings: settings) { done.append($0) }
        #expect(images.count == 2 && images.allSatisfy { $0.count == 2 })
        #expect(images[0][0].width == 16 && images[0][0].height == 16)
        #expect(done == [3, 4])
        let again = try generator.generate(captions: ["a red circle", "two blue squares"], settings: settings)
        #expect(again.flatMap { $0.map(\.pixels) } == images.flatMap { $0.map(\.pixels) })
        #expect(images[0][0].pixels != images[0][1].pixels)

        let edits = try generator.edit(instructions: ["make it blue"], sources: [images[0][0]], settings: settings)
        #expect(edits.count == 1 && edits[0].count == 2 && edits[0][0].width == 16)
        #expect(throws: UnifiedModelError.self) {
            try generator.edit(
                instructions: ["x"], sources: [RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 0, count: 192))],
                settings: settings)
        }
    }

    @Test func missingTokenizerIsNamed() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("lm/tokenizer.json"))
        #expect(throws: UnifiedModelError.missingPart(path: dir.appendingPathComponent("lm/tokenizer.json").path)) {
            try UnifiedImageGenerator(directory: dir)
        }
    }
}
