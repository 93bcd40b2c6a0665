/// An 8-bit RGB image, row-major, channels interleaved (`r, g, b, r, g, b, …`).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width × height × 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "an RGB image of \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A uniformly coloured image.
    public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8)) {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { p[3 * i] = fill.r; p[3 * i + 1] = fill.g; p[3 * i + 2] = fill.b }
        self.init(width: width, height: height, pixels: p)
    }

    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        get {
            let i = 3 * (y * width + x)
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = 3 * (y * width + x)
            pixels[i] = newValue.r; pixels[i + 1] = newValue.g; pixels[i + 2] = newValue.b
        }
    }

    /// The image as a [3, height, width] tensor scaled to [-1, 1] (the diffusion models' range).
    public func tensor() -> Tensor {
        let plane = width * height
        return Tensor(shape: [3, height, width]) { t in
            for i in 0..<plane {
                for c in 0..<3 { t[c * plane + i] = Float(pixels[3 * i + c]) / 127.5 - 1 }
            }
        }
    }

    /// Converts a [3, H, W] tensor in [-1, 1] to an image, clamping and rounding.
    public init(tensor: Tensor) {
        precondition(tensor.rank == 3 && tensor.shape[0] == 3, "an RGB tensor is [3, H, W], got \(tensor.shape)")
        let h = tensor.shape[1], w = tensor.shape[2], plane = h * w
        var p = [UInt8](repeating: 0, count: plane * 3)
        tensor.withUnsafeBufferPointer { t in
            for i in 0..<plane {
                for c in 0..<3 {
                    let v = (t[c * plane + i] + 1) * 127.5
                    p[3 * i + c] = UInt8(Swift.min(Swift.max(v.isNaN ? 0 : v, 0), 255).rounded())
                }
            }
        }
        self.init(width: w, height: h, pixels: p)
    }
}
