import Foundation
import UniRLTensor

/// A degradation applied to an image to measure how gracefully ``ShapeDetector`` copes with
/// images that are not clean renders (a generator's output is blurry and noisy).
public enum ImageCorruption: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The image as it is.
    case none
    /// A Gaussian blur of standard deviation `sigma` pixels (separable, edges replicated).
    case gaussianBlur(sigma: Double)
    /// Independent Gaussian noise of standard deviation `standardDeviation` (in 0…255 units)
    /// added to every channel, then clamped and rounded.
    case gaussianNoise(standardDeviation: Double)
    /// A blur followed by noise.
    case blurAndNoise(sigma: Double, standardDeviation: Double)
    /// A JPEG round trip at this quality (4:2:0 chroma).
    case jpeg(quality: Int)

    /// The ladder the README's robustness table reports.
    public static let standardLadder: [ImageCorruption] = [
        .none,
        .gaussianBlur(sigma: 0.5), .gaussianBlur(sigma: 1.0), .gaussianBlur(sigma: 1.5),
        .gaussianNoise(standardDeviation: 10), .gaussianNoise(standardDeviation: 20),
        .gaussianNoise(standardDeviation: 40),
        .blurAndNoise(sigma: 1.0, standardDeviation: 20),
        .jpeg(quality: 75), .jpeg(quality: 30),
    ]

    public var description: String {
        func f(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%g", x) }
        switch self {
        case .none: return "clean"
        case .gaussianBlur(let s): return "blur σ=\(f(s)) px"
        case .gaussianNoise(let n): return "noise σ=\(f(n))/255"
        case .blurAndNoise(let s, let n): return "blur σ=\(f(s)) px + noise σ=\(f(n))/255"
        case .jpeg(let q): return "JPEG q=\(q)"
        }
    }

    /// The corrupted image; noise is drawn from `rng`.
    public func apply(to image: RGBImage, using rng: inout RandomState) throws -> RGBImage {
        switch self {
        case .none:
            return image
        case .gaussianBlur(let sigma):
            return Self.blur(image, sigma: sigma)
        case .gaussianNoise(let std):
            return Self.addNoise(image, standardDeviation: std, using: &rng)
        case .blurAndNoise(let sigma, let std):
            return Self.addNoise(Self.blur(image, sigma: sigma), standardDeviation: std, using: &rng)
        case .jpeg(let quality):
            return try RGBImage(jpegData: image.jpegData(quality: quality))
        }
    }

    static func blur(_ image: RGBImage, sigma: Double) -> RGBImage {
        guard sigma > 0, image.width > 0, image.height > 0 else { return image }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let w = image.width, h = image.height
        var plane = image.pixels.map(Float.init)
        var tmp = plane
        // Horizontal, then vertical; edges replicate the border pixel.
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 {
                    var s: Float = 0
                    for (k, weight) in kernel.enumerated() {
                        let xx = min(w - 1, max(0, x + k - radius))
                        s += weight * plane[3 * (y * w + xx) + c]
                    }
                    tmp[3 * (y * w + x) + c] = s
                }
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 {
                    var s: Float = 0
                    for (k, weight) in kernel.enumerated() {
                        let yy = min(h - 1, max(0, y + k - radius))
                        s += weight * tmp[3 * (yy * w + x) + c]
                    }
                    plane[3 * (y * w + x) + c] = s
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: plane.map { UInt8(min(max($0, 0), 255).rounded()) })
    }

    static func addNoise(_ image: RGBImage, standardDeviation std: Double, using rng: inout RandomState) -> RGBImage {
        var out = image
        let s = Float(std)
        for i in out.pixels.indices {
            let v = Float(out.pixels[i]) + s * rng.nextNormal()
            out.pixels[i] = UInt8(min(max(v, 0), 255).rounded())
        }
        return out
    }
}
