import CPNG
import Foundation

extension RGBImage {
    /// The most pixels a decoder will allocate for (about 400 MB of RGB), so that a hostile
    /// header cannot request an enormous buffer.
    public static let maxDecodedPixels = 1 << 27

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The image encoded as an 8-bit RGB PNG (lossless).
    public func pngData() throws -> Data {
        try Self.pngData(pixels: pixels, width: width, height: height, channels: 3)
    }

    /// Encodes 8-bit interleaved pixels as PNG: 1 channel is grey, 2 grey+alpha, 3 RGB,
    /// 4 RGBA.
    public static func pngData(pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> Data {
        let formats: [Int: UInt32] = [
            1: 0,
            2: UInt32(PNG_FORMAT_FLAG_ALPHA),
            3: UInt32(PNG_FORMAT_FLAG_COLOR),
            4: UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA),
        ]
        guard let format = formats[channels] else {
            throw ImageCodecError.pngEncodingFailed("\(channels) channels; PNG takes 1 to 4")
        }
        guard width > 0, height > 0, width <= 1 << 24, height <= 1 << 24 else {
            throw ImageCodecError.invalidDimensions(width: width, height: height, reason: "PNG needs 1 to 2^24 pixels a side")
        }
        let expected = width.multipliedReportingOverflow(by: height * channels)
        guard !expected.overflow, expected.partialValue == pixels.count else {
            throw ImageCodecError.pixelCountMismatch(expected: expected.partialValue, actual: pixels.count)
        }

        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        return try pixels.withUnsafeBytes { src in
            var size: png_alloc_size_t = 0
            guard png_image_write_to_memory(&image, nil, &size, 0, src.baseAddress, 0, nil) != 0 else {
                throw ImageCodecError.pngEncodingFailed(pngMessage(image))
            }
            var out = Data(count: Int(size))
            let ok = out.withUnsafeMutableBytes { dst in
                png_image_write_to_memory(&image, dst.baseAddress, &size, 0, src.baseAddress, 0, nil)
            }
            guard ok != 0 else { throw ImageCodecError.pngEncodingFailed(pngMessage(image)) }
            out.count = Int(size)
            return out
        }
    }

    /// Decodes a PNG of any colour type and bit depth to 8-bit RGB.
    ///
    /// Grey images are replicated into all three channels, 16-bit samples are scaled to 8 bits
    /// (treated as sRGB when the file has no gamma information), and transparent pixels are
    /// composited onto `background` (opaque pixels keep their exact values).
    public init(pngData data: Data, background: (r: UInt8, g: UInt8, b: UInt8) = (0, 0, 0)) throws {
        guard !data.isEmpty else { throw ImageCodecError.emptyData(format: "PNG") }
        guard data.count >= 8, data.prefix(8).elementsEqual(Self.pngSignature) else { throw ImageCodecError.notPNG }

        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        // libpng keeps a pointer to the memory until png_image_finish_read returns, so both
        // calls run inside one withUnsafeBytes.
        let (w, h, pixels) = try data.withUnsafeBytes { raw -> (Int, Int, [UInt8]) in
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                throw ImageCodecError.corruptPNG(Self.pngMessage(image))
            }
            let w = Int(image.width), h = Int(image.height)
            guard w <= Self.maxDecodedPixels, h <= Self.maxDecodedPixels, w * h <= Self.maxDecodedPixels else {
                png_image_free(&image)
                throw ImageCodecError.imageTooLarge(width: w, height: h)
            }
            image.format = UInt32(PNG_FORMAT_FLAG_COLOR)
            // 16-bit files without gamma information hold sRGB values like everyone else's,
            // not linear light (libpng's default assumption for them).
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            var pixels = [UInt8](repeating: 0, count: w * h * 3)
            var bg = png_color(red: background.r, green: background.g, blue: background.b)
            let ok = pixels.withUnsafeMutableBytes { dst in
                png_image_finish_read(&image, &bg, dst.baseAddress, 0, nil)
            }
            guard ok != 0 else { throw ImageCodecError.corruptPNG(Self.pngMessage(image)) }
            return (w, h, pixels)
        }
        self.init(width: w, height: h, pixels: pixels)
    }

    /// Writes the image as PNG to `url` atomically (temporary file, then rename).
    public func writePNG(to url: URL) throws {
        let data = try pngData()
        do { try AtomicFileWriter.write(data, to: url) } catch {
            throw ImageCodecError.writeFailed(path: url.path, reason: error.description)
        }
    }

    /// Reads and decodes the PNG file at `url`.
    public init(contentsOfPNG url: URL) throws {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw ImageCodecError.fileUnreadable(path: url.path, reason: error.localizedDescription)
        }
        try self.init(pngData: data)
    }

    /// libpng's NUL-terminated message from `image.message`.
    private static func pngMessage(_ image: png_image) -> String {
        let text = withUnsafeBytes(of: image.message) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported no message" : text
    }
}
