import Foundation
import UniRLTensor

/// CLIP's image processor (transformers' `CLIPImageProcessorPil`, models/clip/image_processing_pil_clip.py):
/// the shortest side resized to ``shortestEdge`` with Pillow's bicubic filter (the long side
/// `int(edge · long / short)`), a centre crop to ``cropHeight`` × ``cropWidth`` (zero-padded when
/// the image is smaller, as transformers' `center_crop`), x/255, then (x − mean)/std per channel.
public struct CLIPImageProcessor: Sendable, Equatable {
    public var shortestEdge: Int
    public var cropHeight: Int, cropWidth: Int
    public var mean: [Float]
    public var std: [Float]

    /// OpenAI CLIP's mean and std (transformers' `OPENAI_CLIP_MEAN`, `OPENAI_CLIP_STD`).
    public static let openAIMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let openAIStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init(shortestEdge: Int = 224, cropHeight: Int = 224, cropWidth: Int = 224,
                mean: [Float] = openAIMean, std: [Float] = openAIStd) {
        self.shortestEdge = shortestEdge; self.cropHeight = cropHeight; self.cropWidth = cropWidth
        self.mean = mean; self.std = std
    }

    /// The processor whose output a model's vision tower takes: resize and crop to its image size.
    public init(imageSize: Int) { self.init(shortestEdge: imageSize, cropHeight: imageSize, cropWidth: imageSize) }

    /// Reads a `preprocessor_config.json` (`size.shortest_edge`, `crop_size`, `image_mean`, `image_std`).
    public init(preprocessorConfig url: URL) throws {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw ModelConfigurationError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelConfigurationError.invalid(path: url.path, reason: "not a JSON object")
        }
        let reader = JSONFieldReader(path: url.path)
        var p = CLIPImageProcessor()
        if let size = o["size"] as? [String: Any] { p.shortestEdge = try reader.int(size, "shortest_edge", p.shortestEdge) }
        else if o["size"] != nil { p.shortestEdge = try reader.int(o, "size", p.shortestEdge) }
        if let crop = o["crop_size"] as? [String: Any] {
            p.cropHeight = try reader.int(crop, "height", p.cropHeight)
            p.cropWidth = try reader.int(crop, "width", p.cropWidth)
        } else if o["crop_size"] != nil {
            let c = try reader.int(o, "crop_size", p.cropHeight); p.cropHeight = c; p.cropWidth = c
        }
        if let m = o["image_mean"] as? [NSNumber] { p.mean = m.map(\.floatValue) }
        if let s = o["image_std"] as? [NSNumber] { p.std = s.map(\.floatValue) }
        guard p.shortestEdge > 0, p.cropHeight > 0, p.cropWidth > 0, p.mean.count == 3, p.std.count == 3,
              p.std.allSatisfy({ $0 != 0 }) else {
            throw ModelConfigurationError.inconsistent("\(url.path): sizes must be positive and mean/std have 3 non-zero entries")
        }
        self = p
    }

    /// Resized size (height, width) of an image before cropping.
    public func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let short = min(height, width), long = max(height, width)
        let newLong = Int(Double(shortestEdge) * Double(long) / Double(short))
        return height <= width ? (shortestEdge, newLong) : (newLong, shortestEdge)
    }

    /// Pixel values [1, 3, cropHeight, cropWidth] of one image.
    public func callAsFunction(_ image: RGBImage) throws -> Tensor {
        guard image.width > 0, image.height > 0 else { throw ImageProcessingError.empty(width: image.width, height: image.height) }
        let size = resizedSize(height: image.height, width: image.width)
        let resized = BicubicResampler.resize(image, width: size.width, height: size.height)
        // Output row r reads resized row r + ⌊(h − crop)/2⌋; outside the image it is a zero byte.
        let top = Int((Double(size.height - cropHeight) / 2).rounded(.down))
        let left = Int((Double(size.width - cropWidth) / 2).rounded(.down))
        var out = [Float](repeating: 0, count: 3 * cropHeight * cropWidth)
        for c in 0..<3 {
            for y in 0..<cropHeight {
                let sy = y + top
                for x in 0..<cropWidth {
                    let sx = x + left
                    let byte = (0..<size.height).contains(sy) && (0..<size.width).contains(sx)
                        ? resized.pixels[(sy * size.width + sx) * 3 + c] : 0
                    // numpy: float64 x·(1/255) cast to float32, then (x − mean)/std in float32.
                    let v = Float(Double(byte) * (1.0 / 255.0))
                    out[(c * cropHeight + y) * cropWidth + x] = (v - mean[c]) / std[c]
                }
            }
        }
        return Tensor(shape: [1, 3, cropHeight, cropWidth], scalars: out)
    }

    /// Pixel values [B, 3, cropHeight, cropWidth] of a batch.
    public func callAsFunction(_ images: [RGBImage]) throws -> Tensor {
        Tensor.concatenate(try images.map { try self($0) }, axis: 0)
    }
}
