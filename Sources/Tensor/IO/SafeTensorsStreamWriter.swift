import Foundation

extension SafeTensors {
    /// Writes a safetensors file tensor by tensor, for checkpoints larger than memory: the header
    /// from `layout` (name → dtype and shape, in the same order and format as
    /// ``encode(entries:metadata:)``), then each tensor's bytes as `fill(name, bytes)` stores
    /// them (little-endian, exactly the tensor's size). Written to a temporary file in the same
    /// folder, then renamed, so a partial file is never left under `url`.
    public static func writeStreaming(
        layout: [String: (dtype: SafeTensorsDType, shape: [Int])], metadata: [String: String]? = nil, to url: URL,
        fill: (String, UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        let ordered = layout.sorted { a, b in
            let (ra, rb) = (a.value.dtype.alignmentRank, b.value.dtype.alignmentRank)
            return ra != rb ? ra > rb : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        var spans: [Range<Int>] = []
        var offset = 0
        for (name, entry) in ordered {
            let bytes = try SafeTensorsHeader.byteCount(name: name, dtype: entry.dtype, shape: entry.shape)
            spans.append(offset..<(offset + bytes))
            offset += bytes
        }
        let header = headerBytes(ordered.map(\.key), ordered.map(\.value), spans, metadata)
        guard UInt64(header.count) <= SafeTensorsHeader.maxHeaderLength else {
            throw SafeTensorsError.headerTooLarge(headerLength: UInt64(header.count))
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        func failed(_ reason: String) -> SafeTensorsError { .writeFailed(path: url.path, reason: reason) }
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary.path)
        else { throw failed("cannot create \(temporary.path)") }
        do {
            var prefix = Data(count: 8)
            prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self) }
            try handle.write(contentsOf: prefix + Data(header))
            for ((name, _), span) in zip(ordered, spans) {
                var bytes = Data(count: span.count)
                try bytes.withUnsafeMutableBytes { try fill(name, $0) }
                try handle.write(contentsOf: bytes)
            }
            try handle.close()
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            if let e = error as? SafeTensorsError { throw e }
            throw failed("\(error)")
        }
    }
}
