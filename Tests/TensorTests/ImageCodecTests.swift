import Foundation
import Testing
import UniRLTensor

// MARK: - Helpers

private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ImageCodecTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A deterministic noisy image (worst case for compression, exact for PNG).
private func noiseImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    var state = seed
    let pixels = (0..<(width * height * 3)).map { _ -> UInt8 in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    return RGBImage(width: width, height: height, pixels: pixels)
}

/// Smooth gradients with a few shapes: what JPEG is meant for.
private func gradientImage(width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
        for x in 0..<width {
            let inCircle = (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < (height / 4) * (height / 4)
            image[x, y] = (UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), inCircle ? 220 : 60)
        }
    }
    return image
}

private func meanAbsoluteError(_ a: RGBImage, _ b: RGBImage) -> Double {
    zip(a.pixels, b.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(a.pixels.count)
}

private func codecError(_ body: () throws -> Void) -> ImageCodecError? {
    do {
        try body()
        return nil
    } catch let error as ImageCodecError {
        return error
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)")
        return nil
    }
}

/// A minimal PNG built by hand: greyscale, uncompressed ("stored") deflate blocks.
/// `samples` holds one big-endian sample (1 byte, or 2 for `bitDepth` 16) per pixel.
private func handMadeGreyPNG(width: Int, height: Int, samples: [UInt8], bitDepth: UInt8 = 8) -> Data {
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
    func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
    }
    var raw: [UInt8] = []
    let rowBytes = width * Int(bitDepth) / 8
    for y in 0..<height { raw.append(0); raw += samples[(y * rowBytes)..<((y + 1) * rowBytes)] }  // filter type 0
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    let n = UInt16(raw.count)
    let zlib: [UInt8] = [0x78, 0x01, 0x01, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)]
        + raw + bigEndian(b << 16 | a)
    let ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, 0, 0, 0, 0]  // grey
    let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
    return Data(png)
}

// MARK: - PNG

@Suite("ImageCodec PNG")
struct PNGCodecTests {
    @Test func roundTripIsLossless() throws {
        for (w, h) in [(1, 1), (37, 23), (64, 3)] {
            let image = noiseImage(width: w, height: h, seed: UInt64(w * 1000 + h))
            let data = try image.pngData()
            #expect(Array(data.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            #expect(try RGBImage(pngData: data) == image)
        }
    }

    @Test func handMadeGreyPNGDecodesToRGB() throws {
        let data = handMadeGreyPNG(width: 3, height: 2, samples: [0, 85, 170, 255, 1, 254])
        let image = try RGBImage(pngData: data)
        #expect(image.width == 3 && image.height == 2)
        #expect(image.pixels == [0, 85, 170, 255, 1, 254].flatMap { [$0, $0, $0] })

        // 16-bit samples without gamma chunks scale to 8 bits as sRGB values (v / 257).
        let deep = handMadeGreyPNG(width: 3, height: 1, samples: [0x00, 0x00, 0x80, 0x80, 0xFF, 0xFF], bitDepth: 16)
        #expect(try RGBImage(pngData: deep).pixels == [0, 0, 0, 128, 128, 128, 255, 255, 255])
    }

    @Test func greyAndGreyAlphaPNGsDecodeToRGB() throws {
        let grey: [UInt8] = [0, 10, 128, 255]
        let g = try RGBImage(pngData: try RGBImage.pngData(pixels: grey, width: 2, height: 2, channels: 1))
        #expect(g.pixels == grey.flatMap { [$0, $0, $0] })

        let greyAlpha: [UInt8] = [50, 255, 200, 255]
        let ga = try RGBImage(pngData: try RGBImage.pngData(pixels: greyAlpha, width: 2, height: 1, channels: 2))
        #expect(ga.pixels == [50, 50, 50, 200, 200, 200])
    }

    @Test func rgbaPNGDecodesToRGBOverBackground() throws {
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 255, 0, 255, 1, 2, 3, 255, 9, 9, 9, 0]
        let data = try RGBImage.pngData(pixels: rgba, width: 2, height: 2, channels: 4)
        let onBlack = try RGBImage(pngData: data)
        #expect(onBlack.pixels == [255, 0, 0, 0, 255, 0, 1, 2, 3, 0, 0, 0])
        let onWhite = try RGBImage(pngData: data, background: (255, 255, 255))
        #expect(onWhite.pixels == [255, 0, 0, 0, 255, 0, 1, 2, 3, 255, 255, 255])
    }

    @Test func writesAtomicallyAndReadsBack() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("frame.png")
        let image = noiseImage(width: 16, height: 9, seed: 3)
        try RGBImage(width: 2, height: 2, fill: (1, 2, 3)).writePNG(to: url)
        try image.writePNG(to: url)
        #expect(try RGBImage(contentsOfPNG: url) == image)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["frame.png"])

        let missing = dir.appendingPathComponent("missing.png")
        guard case .fileUnreadable(let path, _) = codecError({ _ = try RGBImage(contentsOfPNG: missing) }) else {
            Issue.record("missing file did not throw fileUnreadable")
            return
        }
        #expect(path == missing.path)
        let badDir = dir.appendingPathComponent("no/such/dir/x.png")
        guard case .writeFailed(let wpath, _) = codecError({ try image.writePNG(to: badDir) }) else {
            Issue.record("unwritable path did not throw writeFailed")
            return
        }
        #expect(wpath == badDir.path)
    }

    @Test func badPNGDataThrows() throws {
        #expect(codecError { _ = try RGBImage(pngData: Data()) } == .emptyData(format: "PNG"))
        #expect(codecError { _ = try RGBImage(pngData: Data("hello, world".utf8)) } == .notPNG)
        #expect(codecError { _ = try RGBImage(pngData: Data([0x89, 0x50])) } == .notPNG)

        let good = try noiseImage(width: 20, height: 20, seed: 1).pngData()
        for cut in [8, 20, 40, good.count / 2, good.count - 13] {
            guard case .corruptPNG(let message) = codecError({ _ = try RGBImage(pngData: good.prefix(cut)) }) else {
                Issue.record("truncated at \(cut) bytes did not throw corruptPNG")
                continue
            }
            #expect(!message.isEmpty)
        }
        var flipped = Array(good)
        flipped[good.count / 2] ^= 0xFF  // inside IDAT: CRC mismatch
        guard case .corruptPNG = codecError({ _ = try RGBImage(pngData: Data(flipped)) }) else {
            Issue.record("corrupted IDAT did not throw corruptPNG")
            return
        }
    }

    @Test func encoderRejectsBadInput() {
        #expect(codecError { _ = try RGBImage(width: 0, height: 0, pixels: []).pngData() }
            == .invalidDimensions(width: 0, height: 0, reason: "PNG needs 1 to 2^24 pixels a side"))
        #expect(codecError { _ = try RGBImage.pngData(pixels: [1, 2, 3], width: 2, height: 1, channels: 1) }
            == .pixelCountMismatch(expected: 2, actual: 3))
        guard case .pngEncodingFailed = codecError({ _ = try RGBImage.pngData(pixels: [1], width: 1, height: 1, channels: 5) }) else {
            Issue.record("5 channels accepted")
            return
        }
    }
}

// MARK: - JPEG

@Suite("ImageCodec JPEG")
struct JPEGCodecTests {
    @Test func roundTripIsClose() throws {
        let image = gradientImage(width: 64, height: 48)
        for subsampling in [JPEGChromaSubsampling.chroma420, .chroma422, .chroma444] {
            let data = try image.jpegData(quality: 95, subsampling: subsampling)
            #expect(Array(data.prefix(3)) == [0xFF, 0xD8, 0xFF])
            let decoded = try RGBImage(jpegData: data)
            #expect(decoded.width == 64 && decoded.height == 48)
            #expect(meanAbsoluteError(image, decoded) < 3, "\(subsampling)")
        }
    }

    @Test func lowerQualityShrinksTheFile() throws {
        let image = noiseImage(width: 64, height: 64, seed: 9)
        let sizes = try [95, 75, 30, 5].map { try image.jpegData(quality: $0).count }
        #expect(sizes == sizes.sorted(by: >))
        #expect(sizes[3] * 3 < sizes[0])
        let decoded = try RGBImage(jpegData: image.jpegData(quality: 5))
        #expect(decoded.width == 64)
    }

    @Test func grayscaleJPEGDecodesToEqualChannels() throws {
        let data = try gradientImage(width: 16, height: 16).jpegData(quality: 90, subsampling: .grayscale)
        let decoded = try RGBImage(jpegData: data)
        for i in 0..<(16 * 16) {
            #expect(decoded.pixels[3 * i] == decoded.pixels[3 * i + 1] && decoded.pixels[3 * i] == decoded.pixels[3 * i + 2])
        }
    }

    @Test func badJPEGDataThrows() throws {
        #expect(codecError { _ = try RGBImage(jpegData: Data()) } == .emptyData(format: "JPEG"))
        let png = try RGBImage(width: 4, height: 4, fill: (1, 2, 3)).pngData()
        for bad in [Data("not a jpeg".utf8), png, Data([0xFF, 0xD8, 0xFF])] {
            guard case .corruptJPEG(let message) = codecError({ _ = try RGBImage(jpegData: bad) }) else {
                Issue.record("bad JPEG data (\(bad.count) bytes) did not throw corruptJPEG")
                continue
            }
            #expect(!message.isEmpty)
        }
        // Cut inside the entropy-coded data: libjpeg only warns ("premature end"), which is an
        // error by default and tolerated with allowWarnings.
        let good = try noiseImage(width: 64, height: 64, seed: 5).jpegData(quality: 90)
        let truncated = good.prefix(good.count * 2 / 3)
        guard case .corruptJPEG(let message) = codecError({ _ = try RGBImage(jpegData: truncated) }) else {
            Issue.record("truncated JPEG did not throw")
            return
        }
        #expect(message.lowercased().contains("premature end"))
        let lenient = try RGBImage(jpegData: truncated, allowWarnings: true)
        #expect(lenient.width == 64 && lenient.height == 64)
        // Cut before the scan: fatal even with allowWarnings.
        let headerOnly = good.prefix(300)
        guard case .corruptJPEG = codecError({ _ = try RGBImage(jpegData: headerOnly, allowWarnings: true) }) else {
            Issue.record("JPEG without a scan did not throw")
            return
        }
    }

    @Test func encoderRejectsBadInput() {
        let image = RGBImage(width: 2, height: 2, fill: (0, 0, 0))
        #expect(codecError { _ = try image.jpegData(quality: 0) } == .invalidQuality(0))
        #expect(codecError { _ = try image.jpegData(quality: 101) } == .invalidQuality(101))
        guard case .invalidDimensions = codecError({ _ = try RGBImage(width: 0, height: 3, pixels: []).jpegData() }) else {
            Issue.record("empty image encoded")
            return
        }
    }
}
