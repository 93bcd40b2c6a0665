import Foundation
import UniRLTensor

/// Pillow's 8-bit convolution resize with the bicubic filter (a = −0.5), separable, horizontal
/// pass then vertical, fixed-point coefficients with 22 fraction bits and an 8-bit intermediate
/// image — the numbers `PIL.Image.resize(..., BICUBIC)` (Pillow 13) gives, which transformers' Qwen2-VL image
/// processor uses (Pillow src/libImaging/Resample.c).
enum BicubicResampler {
    static let precisionBits = 32 - 8 - 2

    static func filter(_ x: Double) -> Double {
        let a = -0.5, x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Per output pixel: first input index and fixed-point weights.
    static func coefficients(input: Int, output: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        return (0..<output).map { xx in
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5), xmax = Int(center + support + 0.5)
            xmin = max(xmin, 0); xmax = min(xmax, input)
            var w = (0..<(xmax - xmin)).map { x in filter((Double(x + xmin) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let one = Double(1 << precisionBits)
            return (xmin, w.map { Int32($0 < 0 ? ($0 * one - 0.5).rounded(.towardZero) : ($0 * one + 0.5).rounded(.towardZero)) })
        }
    }

    static func clip8(_ v: Int64) -> UInt8 {
        let s = v >> Int64(precisionBits)
        return UInt8(clamping: min(max(s, 0), 255))
    }

    /// One pass along x (`horizontal`) or y of interleaved RGB bytes.
    static func pass(_ image: RGBImage, to size: Int, horizontal: Bool) -> RGBImage {
        let (w, h) = (image.width, image.height)
        let coeffs = coefficients(input: horizontal ? w : h, output: size)
        let (ow, oh) = horizontal ? (size, h) : (w, size)
        var out = [UInt8](repeating: 0, count: ow * oh * 3)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<oh {
                for x in 0..<ow {
                    let c = coeffs[horizontal ? x : y]
                    for ch in 0..<3 {
                        var ss = Int64(1) << Int64(precisionBits - 1)
                        for (i, k) in c.weights.enumerated() {
                            let (sx, sy) = horizontal ? (c.start + i, y) : (x, c.start + i)
                            ss += Int64(src[(sy * w + sx) * 3 + ch]) * Int64(k)
                        }
                        out[(y * ow + x) * 3 + ch] = clip8(ss)
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }

    /// Resizes interleaved RGB bytes. Pillow runs the horizontal pass first, except (since
    /// Pillow 13, python-pillow/Pillow#9549) when the height shrinks by more than twice as many
    /// pixels as the width does; the 8-bit intermediate makes the order visible in the result.
    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let verticalFirst = height < image.height && image.height - height > 2 * (image.width - width)
        var current = image
        for horizontal in verticalFirst ? [false, true] : [true, false] {
            if horizontal && width != current.width { current = pass(current, to: width, horizontal: true) }
            if !horizontal && height != current.height { current = pass(current, to: height, horizontal: false) }
        }
        return current
    }
}
