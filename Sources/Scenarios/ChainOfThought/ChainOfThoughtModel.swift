import Foundation
import UniRLExperts
import UniRLTensor

/// The chain-of-thought cold start of the tiny unified model, shipped as a small bundle of its own:
/// `Sources/Scenarios/Resources/tiny-unified-cot/` with `lm/` (transformers layout, tokenizer
/// included), `connector/` and `dm/` (diffusers layout), all F16. The DC-AE is not repeated: it is
/// the tiny unified model's `vae/`, which the cold start does not train.
public enum ChainOfThoughtModel {
    /// The folder's name among the resources.
    public static let folderName = "tiny-unified-cot"

    /// The bundled folder, or nil when this build does not ship it.
    public static var bundledDirectory: URL? {
        let url = Bundle.module.url(forResource: folderName, withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: folderName, withExtension: nil)
        guard let url, FileManager.default.fileExists(atPath: url.appendingPathComponent("lm/config.json").path) else { return nil }
        return url
    }

    /// Loads `directory` (lm/, connector/, dm/, and vae/ when present); without `vae/` the DC-AE
    /// comes from `autoencoderFolder` (default: the bundled tiny unified model's `vae/`).
    public static func load(from directory: URL, autoencoderFolder: URL? = nil) throws -> UnifiedImageGenerator {
        let vaeHere = directory.appendingPathComponent("vae/config.json")
        if FileManager.default.fileExists(atPath: vaeHere.path) { return try configured(UnifiedImageGenerator(directory: directory)) }
        let base = try UnifiedModel.load(from: directory, requireAutoencoder: false)
        guard let vaeFolder = autoencoderFolder ?? BundledUnifiedModel.directory?.appendingPathComponent("vae") else {
            throw TinyModelError.unifiedNotBundled
        }
        let autoencoder: AutoencoderDC
        do { autoencoder = try AutoencoderDC.load(from: vaeFolder) } catch {
            throw UnifiedModelError.partFailed(path: vaeFolder.path, reason: "\(error)")
        }
        let model = try UnifiedModel(lm: base.lm, connector: base.connector, transformer: base.transformer, autoencoder: autoencoder)
        let tokenizerURL = directory.appendingPathComponent("lm/tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw UnifiedModelError.missingPart(path: tokenizerURL.path)
        }
        return configured(UnifiedImageGenerator(model: model, tokenizer: try QwenTokenizer(tokenizerJSON: tokenizerURL)))
    }

    /// The bundled cold start.
    public static func loadBundled() throws -> UnifiedImageGenerator {
        guard let directory = bundledDirectory else { throw ChainOfThoughtError.notBundled }
        return try load(from: directory)
    }

    /// Right-pads with `<|endoftext|>` (the tiny LM's pad token).
    static func configured(_ generator: UnifiedImageGenerator) -> UnifiedImageGenerator {
        generator.model.padID = generator.tokenizer.endOfTextID
        return generator
    }

    /// Writes `lm/` (the LM's weights with the processor, tokenizer and generation files of
    /// `lm`), `connector/` and `dm/` in F16; no `vae/`.
    public static func save(_ generator: UnifiedImageGenerator, lm: TinyLM, lmFolder: URL, to folder: URL) throws {
        let fm = FileManager.default
        let staging = folder.appendingPathComponent(".staging-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        let model = generator.model
        try UnifiedModel(lm: model.lm, connector: model.connector, transformer: model.transformer, autoencoder: nil)
            .save(to: staging, dtype: .F16)
        let lmStaging = staging.appendingPathComponent("lm")
        try? fm.removeItem(at: lmStaging)
        try TinyLM(model: model.lm, tokenizer: lm.tokenizer, imageProcessor: lm.imageProcessor)
            .save(to: lmStaging, tokenizerFrom: lmFolder, dtype: .F16)
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        for part in ["lm", "connector", "dm"] {
            let target = folder.appendingPathComponent(part)
            try? fm.removeItem(at: target)
            try fm.moveItem(at: staging.appendingPathComponent(part), to: target)
        }
        try fm.removeItem(at: staging)
    }
}

/// Problems with the chain-of-thought scenarios' inputs.
public enum ChainOfThoughtError: Error, CustomStringConvertible, Equatable {
    /// The package was built without `Resources/tiny-unified-cot`.
    case notBundled
    /// Too few distinct indirect prompts on a side of the split for the settings.
    case tooFewPrompts(split: String, wanted: Int, found: Int)

    public var description: String {
        switch self {
        case .notBundled:
            "the chain-of-thought cold start is not in the UniRLScenarios bundle (Sources/Scenarios/Resources/tiny-unified-cot); "
                + "run `unirl pretrain cot --output <dir>` and pass scenario.model=<dir>"
        case .tooFewPrompts(let s, let w, let f): "only \(f) distinct indirect prompts on the \(s) side (\(w) asked)"
        }
    }
}
