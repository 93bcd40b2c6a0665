import Foundation
import UniRLExperts
import UniRLTensor

/// The unified model the `reflection` scenario needs: one that draws (t2i queries), sees (the
/// LM's vision tower) and edits (i2i queries and the DiT's reference path). It is assembled from
/// an editing folder — `connector/` with both query sets and `dm/` with the reference path (the
/// editing cold start's output, `tiny-unified-edit`) — whose missing parts (`lm/`, `vae/`) come
/// from the bundled tiny unified model.
public enum ReflectionModel {
    /// The editing folder's name among the resources, when the package ships one.
    public static let editFolderName = "tiny-unified-edit"

    /// The bundled editing folder, or nil when this build does not ship one.
    public static var bundledEditDirectory: URL? {
        let url = Bundle.module.url(forResource: editFolderName, withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: editFolderName, withExtension: nil)
        guard let url, FileManager.default.fileExists(atPath: url.appendingPathComponent("dm/config.json").path) else { return nil }
        return url
    }

    /// Loads `folder` (default: the bundled editing folder) over `base` (default: the bundled tiny
    /// unified model). Throws ``ReflectionError/cannotEdit(path:reason:)`` for a model without the
    /// editing parts, ``UnifiedModelError`` naming a missing or damaged part.
    public static func load(from folder: URL? = nil, base: URL? = nil) throws -> UnifiedImageGenerator {
        guard let folder = folder ?? bundledEditDirectory else { throw ReflectionError.noEditModel }
        guard let base = base ?? BundledUnifiedModel.directory else { throw TinyModelError.unifiedNotBundled }
        let fm = FileManager.default
        func source(_ part: String) throws -> URL {
            for root in [folder, base] where fm.fileExists(atPath: root.appendingPathComponent(part + "/config.json").path) {
                return root.appendingPathComponent(part)
            }
            throw UnifiedModelError.missingPart(path: folder.appendingPathComponent(part).path)
        }
        func part<T>(_ name: String, _ load: (URL) throws -> T) throws -> T {
            let url = try source(name)
            do { return try load(url) } catch { throw UnifiedModelError.partFailed(path: url.path, reason: "\(error)") }
        }
        let lmFolder = try source("lm")
        let model = try UnifiedModel(
            lm: try part("lm", QwenVLForConditionalGeneration.load(from:)),
            connector: try part("connector", MetaQueryConnector.load(from:)),
            transformer: try part("dm", SanaTransformer.load(from:)), autoencoder: try part("vae", AutoencoderDC.load(from:)))
        guard (try? model.connector.queries(.i2i)) != nil else {
            throw ReflectionError.cannotEdit(path: try source("connector").path, reason: "the connector has no i2i_queries")
        }
        guard model.transformer.hasReferencePath else {
            throw ReflectionError.cannotEdit(
                path: try source("dm").path, reason: "the DiT has no reference path (ref_patch_embed, ref_linear)")
        }
        let tokenizer = try QwenTokenizer(tokenizerJSON: lmFolder.appendingPathComponent("tokenizer.json"))
        model.padID = tokenizer.endOfTextID
        return UnifiedImageGenerator(model: model, tokenizer: tokenizer)
    }
}

/// Problems with the reflection scenario's model.
public enum ReflectionError: Error, CustomStringConvertible, Equatable {
    /// No editing folder was given and the package ships none.
    case noEditModel
    /// The model lacks a part editing needs.
    case cannotEdit(path: String, reason: String)

    public var description: String {
        switch self {
        case .noEditModel:
            "reflection edits its first image: pass scenario.model=<folder with connector/ (t2i + i2i queries) and dm/ "
                + "(reference path)>, the editing cold start's output; this build ships no \(ReflectionModel.editFolderName)"
        case .cannotEdit(let p, let r): "\(p) cannot edit: \(r)"
        }
    }
}
