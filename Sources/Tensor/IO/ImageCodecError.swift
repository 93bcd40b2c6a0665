/// Why an image could not be encoded, decoded, read or written.
public enum ImageCodecError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The data to decode is empty.
    case emptyData(format: String)
    /// The data does not start with the 8-byte PNG signature.
    case notPNG
    /// libpng rejected the data (truncated or corrupt); the payload is libpng's message.
    case corruptPNG(String)
    /// libpng could not encode the image; the payload is libpng's message.
    case pngEncodingFailed(String)
    /// TurboJPEG rejected the data; the payload is `tjGetErrorStr2`'s message.
    case corruptJPEG(String)
    /// TurboJPEG could not encode the image; the payload is `tjGetErrorStr2`'s message.
    case jpegEncodingFailed(String)
    /// JPEG quality must lie in 1...100.
    case invalidQuality(Int)
    /// The image has a zero or too large dimension for the format.
    case invalidDimensions(width: Int, height: Int, reason: String)
    /// Decoding would need more than ``RGBImage/maxDecodedPixels`` pixels.
    case imageTooLarge(width: Int, height: Int)
    /// The pixel buffer does not match `width × height × channels`.
    case pixelCountMismatch(expected: Int, actual: Int)
    /// A file could not be read.
    case fileUnreadable(path: String, reason: String)
    /// A file could not be written.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .emptyData(let format): "cannot decode \(format): the data is empty"
        case .notPNG: "not a PNG file: the 8-byte PNG signature is missing"
        case .corruptPNG(let message): "truncated or corrupt PNG: \(message)"
        case .pngEncodingFailed(let message): "PNG encoding failed: \(message)"
        case .corruptJPEG(let message): "truncated or corrupt JPEG: \(message)"
        case .jpegEncodingFailed(let message): "JPEG encoding failed: \(message)"
        case .invalidQuality(let q): "JPEG quality \(q) is outside 1...100"
        case .invalidDimensions(let w, let h, let why): "invalid image size \(w)×\(h): \(why)"
        case .imageTooLarge(let w, let h):
            "image of \(w)×\(h) pixels exceeds the decoding limit of \(RGBImage.maxDecodedPixels) pixels"
        case .pixelCountMismatch(let expected, let actual): "expected \(expected) pixel bytes, got \(actual)"
        case .fileUnreadable(let path, let why): "cannot read image file \(path): \(why)"
        case .writeFailed(let path, let why): "cannot write image file \(path): \(why)"
        }
    }
}
