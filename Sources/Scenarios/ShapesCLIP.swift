import Foundation
import UniRLExperts
import UniRLRewards
import UniRLShapesWorld
import UniRLTensor

/// The tiny CLIP of ShapesWorld that ships with the package, trained contrastively by
/// `unirl pretrain clip` (``ShapesCLIPPretraining``) on 32 × 32 renders and their captions. It lies in
/// `Sources/Scenarios/Resources/shapes-clip/` in transformers' layout (`config.json`,
/// `model.safetensors` in F16, `vocab.json` + `merges.txt`, `preprocessor_config.json`), so
/// `CLIPModel.from_pretrained` and `CLIPTokenizer.from_pretrained` read it as they are.
///
/// Its tokenizer is a CLIP-style byte-level BPE vocabulary learned on ShapesWorld text
/// (``CLIPTokenizer/train(on:maximumMerges:minimumFrequency:maxLength:)``): the 512 byte
/// characters (with and without `</w>`), the merges that make every ShapesWorld word one token, and
/// the two special tokens — about 700 tokens instead of CLIP's 49,408, whose embedding table alone
/// would be 6 MB at this width.
public enum ShapesCLIP {
    /// Image side in pixels (the vision tower's `image_size`).
    public static let imageSize = 32

    /// The towers: text 2 layers of width 64, vision 3 layers of width 64 on 4 × 4 patches (64
    /// patches and the class token), both quick-GELU as OpenAI's CLIP, projections to 64.
    public static func configuration(vocabularySize: Int, eosTokenID: Int) -> CLIPConfiguration {
        CLIPConfiguration(
            text: .text(vocabSize: vocabularySize, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
                        numAttentionHeads: 4, maxPositionEmbeddings: 32, eosTokenID: eosTokenID),
            vision: .vision(hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 3, numAttentionHeads: 4,
                            imageSize: imageSize, patchSize: 4),
            projectionDim: 64)
    }

    /// The bundled folder, or nil when the package was built without it.
    public static var bundledDirectory: URL? {
        Bundle.module.url(forResource: "shapes-clip", withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "shapes-clip", withExtension: nil)
    }

    /// The bundled ShapesCLIP, ready to embed.
    public static func load() throws -> CLIPEmbedder {
        guard let dir = bundledDirectory else { throw TinyModelError.notBundled }
        return try CLIPEmbedder(directory: dir)
    }

    // MARK: Data

    static let numberWords = ["a", "two", "three", "four"]

    /// The full description of a scene: its kinds of object (colour and shape) in reading order of
    /// their first cell, each with its count: "two red circles and a blue square".
    public static func caption(of scene: Scene) -> String {
        var kinds: [(color: PaletteColor, shape: ShapeKind, count: Int)] = []
        for object in scene.objects.sorted(by: { $0.cell < $1.cell }) {
            if let i = kinds.firstIndex(where: { $0.color == object.color && $0.shape == object.shape }) { kinds[i].count += 1 }
            else { kinds.append((object.color, object.shape, 1)) }
        }
        return kinds.map { phrase(count: $0.count, color: $0.color, shape: $0.shape) }.joined(separator: " and ")
    }

    /// "a red circle", "three blue squares" (counts 1–4).
    public static func phrase(count: Int, color: PaletteColor, shape: ShapeKind) -> String {
        let number = count >= 1 && count <= numberWords.count ? numberWords[count - 1] : String(count)
        return "\(number) \(color.name) \(shape.name)\(count == 1 ? "" : "s")"
    }

    /// A scene of one to four objects in one to three kinds (so counts of one kind up to four occur
    /// often), in distinct random cells.
    public static func scene(using rng: inout RandomState) -> Scene {
        let total = 1 + rng.uniformIndex(4)
        let kindCount = min(total, 1 + rng.uniformIndex(3))
        var kinds: [(PaletteColor, ShapeKind)] = []
        while kinds.count < kindCount {
            let k = (rng.uniformElement(of: PaletteColor.allCases), rng.uniformElement(of: ShapeKind.allCases))
            if !kinds.contains(where: { $0 == k }) { kinds.append(k) }
        }
        // Every kind at least once, the rest at random.
        var assignment = Array(kinds.indices)
        while assignment.count < total { assignment.append(rng.uniformIndex(kindCount)) }
        let cells = rng.distinctElements(GridCell.all, count: total)
        return Scene(objects: zip(cells, assignment).map { cell, k in
            SceneObject(shape: kinds[k].1, color: kinds[k].0, cell: cell, using: &rng)
        })
    }

    /// A scene whose caption falls on `split` (the ShapesWorld caption hash), with that caption.
    public static func pair(split: PromptSplit, using rng: inout RandomState) -> (scene: Scene, caption: String) {
        while true {
            let s = scene(using: &rng)
            let c = caption(of: s)
            if PromptSplit.of(caption: c) == split { return (s, c) }
        }
    }

    /// The text the tokenizer is learned on: scene descriptions and ShapesWorld prompts of both
    /// splits (the vocabulary, not the pairs, so nothing about held-out images leaks).
    public static func tokenizerCorpus() -> [String] {
        var rng = RandomState(seed: 7)
        var texts: [String] = []
        for _ in 0..<4000 { texts.append(caption(of: scene(using: &rng))) }
        for split in PromptSplit.allCases {
            for _ in 0..<2000 { texts.append(PromptGenerator().prompt(split: split, using: &rng).prompt.caption) }
        }
        return texts
    }
}

extension RandomState {
    /// A uniform index in `0..<count` (`count > 0`).
    mutating func uniformIndex(_ count: Int) -> Int { Int(next() % UInt64(max(count, 1))) }

    /// A uniform element of a non-empty array.
    mutating func uniformElement<T>(of array: [T]) -> T { array[uniformIndex(array.count)] }

    /// `count` distinct elements in random order (a partial Fisher–Yates shuffle).
    mutating func distinctElements<T>(_ array: [T], count: Int) -> [T] {
        var pool = array
        let n = min(count, pool.count)
        for i in 0..<n { pool.swapAt(i, i + uniformIndex(pool.count - i)) }
        return Array(pool.prefix(n))
    }
}

// The CLIP rewards on the bundled ShapesCLIP (their default checkpoint in ShapesWorld).
extension CLIPScore {
    /// ``CLIPScore`` on the bundled ShapesCLIP.
    public static func shapesCLIP(scale: Float = 1) throws -> CLIPScore { CLIPScore(clip: try ShapesCLIP.load(), scale: scale) }
}

extension CLIPImageSimilarity {
    /// ``CLIPImageSimilarity`` on the bundled ShapesCLIP.
    public static func shapesCLIP() throws -> CLIPImageSimilarity { CLIPImageSimilarity(clip: try ShapesCLIP.load()) }
}

extension CLIPDirection {
    /// ``CLIPDirection`` on the bundled ShapesCLIP.
    public static func shapesCLIP() throws -> CLIPDirection { CLIPDirection(clip: try ShapesCLIP.load()) }
}
