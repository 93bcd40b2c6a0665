import Foundation
import UniRLTensor

/// A CLIP checkpoint ready to embed: the model, its tokenizer and its image processor, read from
/// one folder in transformers' layout (`config.json`, `model.safetensors`, `vocab.json` +
/// `merges.txt` or `tokenizer.json`, optional `preprocessor_config.json`; without it images are
/// resized and cropped to the vision tower's size with the OpenAI mean and std).
///
/// ```swift
/// let clip = try CLIPEmbedder(directory: folder)
/// let t = try clip.textEmbeddings(["two red circles"])      // [1, P], unit rows
/// let i = try clip.imageEmbeddings([image])                 // [1, P], unit rows
/// ```
public struct CLIPEmbedder: @unchecked Sendable {
    // The model's parameters are read only after loading; embedding runs without gradients.
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let processor: CLIPImageProcessor
    /// Rows per forward pass when embedding many texts or images.
    public var chunkSize = 64

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, processor: CLIPImageProcessor? = nil) {
        self.model = model
        var t = tokenizer
        t.maxLength = min(t.maxLength, model.configuration.text.maxPositionEmbeddings)
        self.tokenizer = t
        self.processor = processor ?? CLIPImageProcessor(imageSize: model.configuration.vision.imageSize)
    }

    /// Loads a checkpoint folder.
    public init(directory: URL) throws {
        let model = try CLIPModel.load(from: directory)
        let fm = FileManager.default
        let tokenizer: CLIPTokenizer
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        if fm.fileExists(atPath: directory.appendingPathComponent("vocab.json").path) {
            tokenizer = try CLIPTokenizer(
                vocabJSON: directory.appendingPathComponent("vocab.json"),
                mergesFile: directory.appendingPathComponent("merges.txt"))
        } else if fm.fileExists(atPath: tokenizerJSON.path) {
            tokenizer = try CLIPTokenizer(tokenizerJSON: tokenizerJSON)
        } else {
            throw TokenizerError.unreadable(path: directory.path, reason: "no vocab.json + merges.txt or tokenizer.json")
        }
        let pre = directory.appendingPathComponent("preprocessor_config.json")
        let processor = fm.fileExists(atPath: pre.path) ? try CLIPImageProcessor(preprocessorConfig: pre) : nil
        self.init(model: model, tokenizer: tokenizer, processor: processor)
    }

    /// Unit-length text embeddings [texts.count, P] (each chunk padded to its longest row).
    public func textEmbeddings(_ texts: [String]) throws -> Tensor {
        guard !texts.isEmpty else { throw CLIPInputError.batchMismatch("no texts to embed") }
        return try withoutGrad {
            let parts = try stride(from: 0, to: texts.count, by: chunkSize).map { start in
                let batch = tokenizer(Array(texts[start..<min(start + chunkSize, texts.count)]), padToLongest: true)
                let rows = batch.ids.count / batch.length
                let mask = Tensor(shape: [rows, batch.length], scalars: batch.attentionMask.map(Float.init))
                return CLIPModel.normalized(try model.textFeatures(batch.ids, batch: rows, attentionMask: mask))
            }
            return Tensor.concatenate(parts, axis: 0)
        }
    }

    /// Unit-length image embeddings [images.count, P].
    public func imageEmbeddings(_ images: [RGBImage]) throws -> Tensor {
        guard !images.isEmpty else { throw CLIPInputError.batchMismatch("no images to embed") }
        return try withoutGrad {
            let parts = try stride(from: 0, to: images.count, by: chunkSize).map { start in
                let pixels = try processor(Array(images[start..<min(start + chunkSize, images.count)]))
                return CLIPModel.normalized(try model.imageFeatures(pixels))
            }
            return Tensor.concatenate(parts, axis: 0)
        }
    }

    /// Writes the checkpoint in transformers' layout (`dtype` F16 by default): `config.json`,
    /// `model.safetensors`, `vocab.json`, `merges.txt`, `preprocessor_config.json`.
    public func save(to directory: URL, dtype: SafeTensorsDType = .F16) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = model.configuration.jsonObject()
        if var text = config["text_config"] as? [String: Any] {
            text["bos_token_id"] = tokenizer.bosID; text["eos_token_id"] = tokenizer.eosID; text["pad_token_id"] = tokenizer.padID
            config["text_config"] = text
        }
        config["torch_dtype"] = dtype == .F16 ? "float16" : "float32"
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys]
        try JSONSerialization.data(withJSONObject: config, options: options).write(to: directory.appendingPathComponent("config.json"))
        try SafeTensors.write(
            model.stateDict(), metadata: ["format": "pt"], dtype: dtype,
            to: directory.appendingPathComponent("model.safetensors"))
        try JSONSerialization.data(withJSONObject: tokenizer.vocabulary, options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("vocab.json"))
        let merges = tokenizer.mergeList.map { "\($0.0) \($0.1)" }.joined(separator: "\n")
        try ("#version: 0.2\n" + merges + "\n").write(to: directory.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        let pre: [String: Any] = [
            "image_processor_type": "CLIPImageProcessor", "processor_class": "CLIPProcessor",
            "do_resize": true, "size": ["shortest_edge": processor.shortestEdge], "resample": 3,
            "do_center_crop": true, "crop_size": ["height": processor.cropHeight, "width": processor.cropWidth],
            "do_rescale": true, "rescale_factor": 1.0 / 255.0, "do_normalize": true, "do_convert_rgb": true,
            "image_mean": processor.mean.map(shortestDecimal), "image_std": processor.std.map(shortestDecimal),
        ]
        try JSONSerialization.data(withJSONObject: pre, options: options).write(
            to: directory.appendingPathComponent("preprocessor_config.json"))
    }
}
