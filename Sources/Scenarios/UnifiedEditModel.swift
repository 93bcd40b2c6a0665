import Foundation
import UniRLExperts
import UniRLTensor

/// The tiny unified model's editing weights: a `connector/` with both query sets (t2i and i2i)
/// and a `dm/` whose DiT has the reference path (`ref_patch_embed`, `ref_linear`), trained by
/// `unirl pretrain unified --stage edit` (``UnifiedEditPretraining``). The LM and the DC-AE are
/// the text-to-image model's (`tiny-unified/lm`, `tiny-unified/vae`): the edit folder holds only
/// what editing changes, so the bundle stays small.
///
///     Sources/Scenarios/Resources/tiny-unified-edit/connector/   config.json, model.safetensors (F16)
///     Sources/Scenarios/Resources/tiny-unified-edit/dm/          diffusers SanaTransformer2DModel (F16)
///
/// ```swift
/// let generator = try UnifiedEditModel.load()                  // bundled edit weights over tiny-unified
/// let edits = try generator.edit(instructions: ["make the red circle blue"], sources: [image], settings: .init())
/// ```
public enum UnifiedEditModel {
    /// The folder's name among the resources.
    public static let folderName = "tiny-unified-edit"

    /// The bundled folder, or nil when this build does not ship it.
    public static var bundledDirectory: URL? {
        let url = Bundle.module.url(forResource: folderName, withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: folderName, withExtension: nil)
        guard let url, FileManager.default.fileExists(atPath: url.appendingPathComponent("dm/config.json").path) else { return nil }
        return url
    }

    /// Loads an editing model. `folder` (default: the bundled edit weights) holds `connector/` and
    /// `dm/`, and may hold `lm/` and `vae/`; the parts it lacks come from `base` (default: the
    /// bundled tiny unified model). Throws ``UnifiedModelError`` naming the part that is missing or
    /// damaged, or a model that cannot edit (no i2i queries, no reference path).
    public static func load(from folder: URL? = nil, base: URL? = nil) throws -> UnifiedImageGenerator {
        guard let folder = folder ?? bundledDirectory else { throw TinyModelError.unifiedNotBundled }
        let fm = FileManager.default
        func has(_ root: URL, _ part: String) -> Bool { fm.fileExists(atPath: root.appendingPathComponent(part + "/config.json").path) }
        func root(for part: String) throws -> URL {
            if has(folder, part) { return folder }
            guard let base = base ?? BundledUnifiedModel.directory else { throw TinyModelError.unifiedNotBundled }
            guard has(base, part) else { throw UnifiedModelError.missingPart(path: base.appendingPathComponent(part).path) }
            return base
        }
        for part in ["connector", "dm"] where !has(folder, part) {
            throw UnifiedModelError.missingPart(path: folder.appendingPathComponent(part + "/config.json").path)
        }
        func part<T>(_ name: String, in root: URL, _ load: (URL) throws -> T) throws -> T {
            let url = root.appendingPathComponent(name)
            do { return try load(url) } catch { throw UnifiedModelError.partFailed(path: url.path, reason: "\(error)") }
        }
        let lmRoot = try root(for: "lm")
        let lm = try part("lm", in: lmRoot, QwenVLForConditionalGeneration.load(from:))
        let tokenizer = try part("lm/tokenizer.json", in: lmRoot, QwenTokenizer.init(tokenizerJSON:))
        let connector = try part("connector", in: folder, MetaQueryConnector.load(from:))
        let dm = try part("dm", in: folder, SanaTransformer.load(from:))
        let vae = try part("vae", in: try root(for: "vae"), AutoencoderDC.load(from:))
        guard connector.availableQuerySets.contains(.i2i) else {
            throw UnifiedModelError.invalidRequest("\(folder.appendingPathComponent("connector").path) has no i2i_queries")
        }
        guard dm.hasReferencePath else {
            throw UnifiedModelError.invalidRequest(
                "\(folder.appendingPathComponent("dm").path) has no reference path (ref_patch_embed, ref_linear)")
        }
        let model = try UnifiedModel(lm: lm, connector: connector, transformer: dm, autoencoder: vae)
        return UnifiedImageGenerator(model: model, tokenizer: tokenizer)
    }

    /// The text-to-image model with what editing adds, the rest shared: a connector with i2i
    /// queries started as a copy of the t2i queries (so an edit starts from a condition the DiT
    /// already reads), and a DiT with the reference path (`ref_patch_embed` a copy of
    /// `patch_embed`, `ref_linear` zeros, as G-U-N/UniRL
    /// unimodel/blip3o/model/multimodal_encoder/sana_transformer.py builds it), so that the new
    /// model first computes exactly what the text-to-image model did. Parts already present are kept.
    public static func addingEditParts(to generator: UnifiedImageGenerator, seed: UInt64 = 0) throws -> UnifiedImageGenerator {
        let old = generator.model
        var rng = RandomState(seed: seed)
        let connector = try MetaQueryConnector(configuration: old.connector.configuration, querySets: [.t2i, .i2i], rng: &rng)
        try copy(from: old.connector, to: connector)
        if old.connector.queryParameter(.i2i) == nil, let t2i = old.connector.queryParameter(.t2i) {
            connector.queryParameter(.i2i)?.assign(t2i.value)
        }
        let dm = try SanaTransformer(configuration: old.transformer.configuration, referencePath: true, rng: &rng)
        try copy(from: old.transformer, to: dm)
        if !old.transformer.hasReferencePath {
            let patch = Dictionary(uniqueKeysWithValues: dm.namedParameters().map { ($0.name, $0.parameter) })
            for (name, p) in dm.namedParameters() where name.hasPrefix("ref_patch_embed.") {
                if let source = patch["patch_embed." + name.dropFirst("ref_patch_embed.".count)] { p.assign(source.value) }
            }
        }
        let model = try UnifiedModel(lm: old.lm, connector: connector, transformer: dm, autoencoder: old.autoencoder)
        model.padID = old.padID
        return UnifiedImageGenerator(model: model, tokenizer: generator.tokenizer)
    }

    /// Copies every parameter of `source` into the parameter of the same name and shape in `target`.
    static func copy(from source: any Module, to target: any Module) throws {
        let values = Dictionary(uniqueKeysWithValues: source.namedParameters().map { ($0.name, $0.parameter.value) })
        for (name, p) in target.namedParameters() {
            guard let v = values[name] else { continue }
            guard v.shape == p.value.shape else {
                throw UnifiedModelError.invalidRequest("\(name) is \(v.shape) in the source model and \(p.value.shape) in the edit model")
            }
            p.assign(v)
        }
    }

    /// Writes the edit folder: `connector/` and `dm/` in F16 (the LM and DC-AE are not written; they
    /// are the base model's).
    public static func save(_ generator: UnifiedImageGenerator, to folder: URL) throws {
        let fm = FileManager.default
        let staging = folder.appendingPathComponent(".staging-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: staging)
        try generator.model.save(to: staging, dtype: .F16)
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        for part in ["connector", "dm"] {
            let target = folder.appendingPathComponent(part)
            try? fm.removeItem(at: target)
            try fm.moveItem(at: staging.appendingPathComponent(part), to: target)
        }
        try fm.removeItem(at: staging)
    }
}
