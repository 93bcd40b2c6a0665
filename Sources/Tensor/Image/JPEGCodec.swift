import CTurboJPEG
import Foundation

/// How much colour resolution a JPEG keeps (TurboJPEG's `TJSAMP_*`).
public enum JPEGChromaSubsampling: Sendable {
    /// Full colour resolution (4:4:4).
    case chroma444
    /// Half horizontal colour resolution (4:2:2).
    case chroma422
    /// Half colour resolution both ways (4:2:0), the common default.
    case chroma420
    /// Greyscale: the colour is dropped.
    case grayscale

    var turboJPEGValue: Int32 {
        switch self {
        case .chroma444: Int32(TJSAMP_444.rawValue)
        case .chroma422: Int32(TJSAMP_422.rawValue)
        case .chroma420: Int32(TJSAMP_420.rawValue)
        case .grayscale: Int32(TJSAMP_GRAY.rawValue)
        }
    }
}

extension RGBImage {
    /// The image encoded as a baseline JPEG.
    ///
    /// - Parameters:
    ///   - quality: 1 (smallest) to 100 (best).
    ///   - subsampling: chroma subsampling, 4:2:0 by default.
    public func jpegData(quality: Int = 90, subsampling: JPEGChromaSubsampling = .chroma420) throws -> Data {
        guard (1...100).contains(quality) else { throw ImageCodecError.invalidQuality(quality) }
        guard width > 0, height > 0, width <= 65_535, height <= 65_535 else {
            throw ImageCodecError.invalidDimensions(width: width, height: height, reason: "JPEG needs 1 to 65535 pixels a side")
        }
        guard let handle = tjInitCompress() else {
            throw ImageCodecError.jpegEncodingFailed("tjInitCompress failed: \(Self.tjMessage(nil))")
        }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        defer { if let buffer { tjFree(buffer) } }
        let rc = pixels.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue),
                        &buffer, &size, subsampling.turboJPEGValue, Int32(quality), TJFLAG_ACCURATEDCT)
        }
        guard rc == 0, let buffer else { throw ImageCodecError.jpegEncodingFailed(Self.tjMessage(handle)) }
        return Data(bytes: buffer, count: Int(size))
    }

    /// Decodes a JPEG (colour or greyscale) to 8-bit RGB.
    ///
    /// - Parameter allowWarnings: accept data that libjpeg flags with a recoverable warning
    ///   (for example a few bytes missing at the end); by default any problem throws.
    public init(jpegData data: Data, allowWarnings: Bool = false) throws {
        guard !data.isEmpty else { throw ImageCodecError.emptyData(format: "JPEG") }
        guard let handle = tjInitDecompress() else {
            throw ImageCodecError.corruptJPEG("tjInitDecompress failed: \(Self.tjMessage(nil))")
        }
        defer { tjDestroy(handle) }
        let (w, h, pixels) = try data.withUnsafeBytes { raw -> (Int, Int, [UInt8]) in
            let src = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, src, UInt(raw.count), &w, &h, &subsampling, &colorspace) == 0 else {
                throw ImageCodecError.corruptJPEG(Self.tjMessage(handle))
            }
            guard w > 0, h > 0 else {  // TurboJPEG accepts a tables-only stream with no frame
                throw ImageCodecError.corruptJPEG("no image frame in the data (\(w)×\(h))")
            }
            guard Int(w) * Int(h) <= Self.maxDecodedPixels else {
                throw ImageCodecError.imageTooLarge(width: Int(w), height: Int(h))
            }
            var pixels = [UInt8](repeating: 0, count: Int(w) * Int(h) * 3)
            let rc = pixels.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src, UInt(raw.count), dst.baseAddress, w, 0, h, Int32(TJPF_RGB.rawValue),
                              TJFLAG_ACCURATEDCT)
            }
            if rc != 0 {
                let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                guard isWarning && allowWarnings else { throw ImageCodecError.corruptJPEG(Self.tjMessage(handle)) }
            }
            return (Int(w), Int(h), pixels)
        }
        self.init(width: w, height: h, pixels: pixels)
    }

    /// TurboJPEG's last error message for `handle` (or the global one for `nil`).
    private static func tjMessage(_ handle: tjhandle?) -> String {
        guard let cString = tjGetErrorStr2(handle) else { return "TurboJPEG reported no message" }
        return String(cString: cString)
    }
}
