import Foundation
import Testing
import UniRLTensor

// MARK: - Helpers

/// A fresh, empty directory under the system temporary directory.
private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A file built byte by byte: 8-byte little-endian header length, header, payload.
private func rawFile(_ header: String, _ payload: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var out = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: payload)
    return out
}

private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

private func f32Bytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

/// The error `SafeTensorsFile(data:)` throws for `data`, or `nil` if it opens.
private func readError(_ data: Data) -> SafeTensorsError? {
    do {
        _ = try SafeTensorsFile(data: data)
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)")
        return nil
    }
}

private func checkpointError(_ url: URL) -> SafeTensorsError? {
    do {
        _ = try ShardedCheckpoint(contentsOf: url)
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)")
        return nil
    }
}

/// A small deterministic generator (SplitMix64) so fuzz cases are reproducible.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func header(of data: Data) -> String {
    let n = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    return String(decoding: data[8..<(8 + n)], as: UTF8.self)
}

// MARK: - Round trips

@Suite("SafeTensors")
struct SafeTensorsTests {
    @Test func float32RoundTripIsExact() throws {
        let special: [Float] = [0, -0.0, 1, -2.5, .pi, .infinity, -.infinity, .leastNonzeroMagnitude,
                                .greatestFiniteMagnitude, 1e-30, Float(bitPattern: 0x7FC0_1234)]
        let tensors: [String: Tensor] = [
            "special": Tensor(special),
            "matrix": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]),
            "scalar": Tensor(42),
            "empty": Tensor(shape: [0, 3], scalars: []),
        ]
        let file = try SafeTensorsFile(data: try SafeTensors.encode(tensors))
        #expect(file.names == ["empty", "matrix", "scalar", "special"])
        for (name, original) in tensors {
            let loaded = try file.tensor(named: name)
            #expect(loaded.shape == original.shape)
            #expect(loaded.scalars.map(\.bitPattern) == original.scalars.map(\.bitPattern), "\(name)")
            #expect(file.info(for: name)?.dtype == .F32)
            #expect(file.info(for: name)?.shape == original.shape)
        }
        #expect(file.info(for: "missing") == nil)
        #expect(throws: SafeTensorsError.tensorNotFound("missing")) { try file.tensor(named: "missing") }
    }

    @Test func float16DecodesKnownBitPatterns() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7C00, 0xFC00, 0x7BFF, 0x0001, 0x8000, 0x3555]
        let expected: [Float] = [1, -2, .infinity, -.infinity, 65504, 5.9604645e-8, -0.0, 0.33325195]
        let data = rawFile(#"{"h":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}}"#, littleEndianBytes(bits))
        let t = try SafeTensorsFile(data: data).tensor(named: "h")
        #expect(t.scalars == expected)
        #expect(t.scalars[6].sign == .minus)
        let nan = rawFile(#"{"h":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}"#, littleEndianBytes([UInt16(0x7E00)]))
        #expect(try SafeTensorsFile(data: nan).tensor(named: "h").item.isNaN)
    }

    @Test func bfloat16DecodesUpperHalfOfFloat() throws {
        let bits: [UInt16] = [0x3F80, 0xC000, 0x7F80, 0x0000, 0x4049, 0x7FC0]
        let data = rawFile(#"{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}"#, littleEndianBytes(bits))
        let t = try SafeTensorsFile(data: data).tensor(named: "b")
        #expect(t.shape == [2, 3])
        #expect(Array(t.scalars.prefix(5)) == [1, -2, .infinity, 0, 3.140625])
        #expect(t.scalars[5].isNaN)
    }

    @Test func bfloat16EncodingRoundsToNearestEven() throws {
        let inputs: [(Float, UInt16)] = [
            (1, 0x3F80), (-2, 0xC000),
            (Float(bitPattern: 0x3F80_8000), 0x3F80),  // tie, lower neighbour even: down
            (Float(bitPattern: 0x3F81_8000), 0x3F82),  // tie, lower neighbour odd: up
            (Float(bitPattern: 0x3F80_8001), 0x3F81),  // above the tie: up
            (Float(bitPattern: 0x3F80_7FFF), 0x3F80),  // below the tie: down
            (.infinity, 0x7F80), (Float(bitPattern: 0x7F7F_FFFF), 0x7F80),  // max float rounds to inf
            (.nan, 0x7FC0), (-.nan, 0x7FC0), (Float(bitPattern: 0x7F80_0001), 0x7FC0),
        ]
        for (x, want) in inputs {
            #expect(HalfPrecision.bfloat16Bits(x) == want, "bf16(\(x.bitPattern))")
        }
        let t = Tensor(inputs.map(\.0))
        let file = try SafeTensorsFile(data: try SafeTensors.encode(["t": t], dtype: .BF16))
        #expect(file.info(for: "t")?.dtype == .BF16)
        let raw = try file.rawBytes(named: "t")
        let stored = raw.withUnsafeBytes { b in
            (0..<inputs.count).map { UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
        #expect(stored == inputs.map(\.1))
    }

    @Test func float16EncodingRoundsToNearestEven() throws {
        let inputs: [(Float, UInt16)] = [
            (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (1e6, 0x7C00),
            (1 + 1.0 / 2048, 0x3C00),  // tie between 0x3C00 and 0x3C01: even
            (1 + 3.0 / 2048, 0x3C02),  // tie between 0x3C01 and 0x3C02: even
        ]
        for (x, want) in inputs { #expect(HalfPrecision.float16Bits(x) == want, "f16(\(x))") }
        let file = try SafeTensorsFile(data: try SafeTensors.encode(["t": Tensor(inputs.map(\.0))], dtype: .F16))
        #expect(try file.tensor(named: "t").scalars == [1, -2, 65504, .infinity, 1, 1 + 2.0 / 1024])
    }

    @Test func int64RoundTrip() throws {
        let values = [0, -1, 1, Int(Int64.max), Int(Int64.min), 123_456_789_012]
        let entries: [String: SafeTensorsEntry] = [
            "ids": .int64(shape: [2, 3], values: values),
            "w": .float(Tensor([0.5, 0.25]), .F32),
        ]
        let file = try SafeTensorsFile(data: try SafeTensors.encode(entries: entries))
        #expect(file.info(for: "ids")?.dtype == .I64)
        #expect(file.info(for: "ids")?.shape == [2, 3])
        #expect(try file.integers(named: "ids") == values)
        #expect(try file.tensor(named: "ids").scalars == values.map { Float($0) })
        #expect(try file.tensor(named: "w").scalars == [0.5, 0.25])
        #expect(throws: SafeTensorsError.unsupportedDType(name: "w", dtype: .F32, operation: "integers(named:)")) {
            try file.integers(named: "w")
        }
    }

    @Test func float64AndNarrowIntegerTypesDecode() throws {
        var payload = littleEndianBytes([Double(1.5).bitPattern, Double(-1e300).bitPattern])
        payload += littleEndianBytes([Int32(-7), Int32(Int32.max)])
        payload += littleEndianBytes([Int16(-300)]) + littleEndianBytes([Int8(-5)]) + [200, 1, 0]
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"#
            + #""i32":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},"#
            + #""i16":{"dtype":"I16","shape":[1],"data_offsets":[24,26]},"#
            + #""i8":{"dtype":"I8","shape":[1],"data_offsets":[26,27]},"#
            + #""u8":{"dtype":"U8","shape":[1],"data_offsets":[27,28]},"#
            + #""flags":{"dtype":"BOOL","shape":[2],"data_offsets":[28,30]}}"#
        let file = try SafeTensorsFile(data: rawFile(header, payload))
        #expect(try file.tensor(named: "d").scalars == [1.5, -.infinity])
        #expect(try file.integers(named: "i32") == [-7, Int(Int32.max)])
        #expect(try file.tensor(named: "i32").scalars == [-7, Float(Int32.max)])
        #expect(try file.integers(named: "i16") == [-300])
        #expect(try file.integers(named: "i8") == [-5])
        #expect(try file.integers(named: "u8") == [200])
        #expect(try file.tensor(named: "u8").scalars == [200])
        #expect(try file.integers(named: "flags") == [1, 0])
        #expect(try file.tensor(named: "flags").scalars == [1, 0])
    }

    @Test func unsupportedDTypesThrowInsteadOfGuessing() throws {
        let data = rawFile(#"{"q":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, [0x38, 0x40])
        let file = try SafeTensorsFile(data: data)
        #expect(throws: SafeTensorsError.unsupportedDType(name: "q", dtype: .F8_E4M3, operation: "tensor(named:)")) {
            try file.tensor(named: "q")
        }
        #expect(try file.rawBytes(named: "q") == Data([0x38, 0x40]))
    }

    @Test func metadataRoundTripsWithEscapes() throws {
        let metadata = ["format": "pt", "quote": "say \"hi\"\\", "lines": "a\nb\tc\u{1}", "unicode": "é/ü 🎉", "": ""]
        let data = try SafeTensors.encode(["x": Tensor([1])], metadata: metadata)
        let file = try SafeTensorsFile(data: data)
        #expect(file.metadata == metadata)
        #expect(header(of: data).contains(#""lines":"a\nb\tc\u0001""#))
        #expect(header(of: data).hasPrefix(#"{"__metadata__":{"#))
        #expect(try SafeTensorsFile(data: try SafeTensors.encode(["x": Tensor([1])])).metadata.isEmpty)
    }

    @Test(arguments: ["a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"])
    func headerIsPaddedWithSpacesToAMultipleOf8(name: String) throws {
        let data = try SafeTensors.encode([name: Tensor([1, 2, 3])])
        let n = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        #expect(n % 8 == 0)
        let text = header(of: data)
        let json = text.trimmingCharacters(in: .init(charactersIn: " "))
        #expect(json.hasSuffix("}"))
        #expect(text.count - json.count < 8)
        #expect(text.dropFirst(json.count).allSatisfy { $0 == " " })
        #expect(data.count == 8 + n + 12)
    }

    // MARK: Interoperability

    /// The byte stream of the reference implementation's `test_serialization` and `test_empty`.
    @Test func encodingMatchesReferenceBytes() throws {
        let out = try SafeTensors.encode(["attn.0": Tensor(shape: [1, 2, 3], scalars: [0, 1, 2, 3, 4, 5])])
        let json = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        #expect(json.utf8.count == 64)
        #expect(out == rawFile(json, f32Bytes([0, 1, 2, 3, 4, 5])))
        #expect(Array(out.prefix(8)) == [64, 0, 0, 0, 0, 0, 0, 0])

        let empty = try SafeTensors.encode([:])
        #expect(Array(empty) == [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
        let emptyWithMetadata = try SafeTensors.encode([:], metadata: ["framework": "pt"])
        #expect(emptyWithMetadata == rawFile(#"{"__metadata__":{"framework":"pt"}}     "#))
        #expect(try SafeTensorsFile(data: empty).names.isEmpty)
    }

    /// A file laid out the way Python's `safetensors.torch.save_file` writes it for
    /// `{"w": f32[2], "b": bf16[2], "a": f16[3], "ids": i64[1]}` with metadata `{"format": "pt"}`:
    /// dtype alignment descending (I64, F32, BF16, F16), then name; compact JSON; spaces to 8.
    @Test func readsAndReproducesAPythonStyleFile() throws {
        var json = #"{"__metadata__":{"format":"pt"},"#
        json += #""ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"#
        json += #""w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
        json += #""b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},"#
        json += #""a":{"dtype":"F16","shape":[3],"data_offsets":[20,26]}}"#
        while json.utf8.count % 8 != 0 { json += " " }
        let payload = littleEndianBytes([Int64(-3)]) + f32Bytes([0.5, -8])
            + littleEndianBytes([UInt16(0x3F80), 0xC000]) + littleEndianBytes([UInt16(0x3C00), 0xC000, 0x3800])
        let python = rawFile(json, payload)

        let file = try SafeTensorsFile(data: python)
        #expect(file.names == ["a", "b", "ids", "w"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.integers(named: "ids") == [-3])
        #expect(try file.tensor(named: "w").scalars == [0.5, -8])
        #expect(try file.tensor(named: "b").scalars == [1, -2])
        #expect(try file.tensor(named: "a").scalars == [1, -2, 0.5])

        let ours = try SafeTensors.encode(entries: [
            "a": .float(Tensor([1, -2, 0.5]), .F16),
            "b": .float(Tensor([1, -2]), .BF16),
            "w": .float(Tensor([0.5, -8]), .F32),
            "ids": .int64(shape: [1], values: [-3]),
        ], metadata: ["format": "pt"])
        #expect(ours == python)
    }

    @Test func readerAcceptsAnyOrderExtraFieldsNullMetadataAndUnalignedData() throws {
        // Odd header length (no padding), so the data is not aligned; tensors listed out of offset order.
        let json = #"{"z":{"dtype":"F32","shape":[1],"data_offsets":[4,8],"extra":[1,{"x":null}]},"#
            + #""__metadata__":null, "y":{"data_offsets":[0,4],"shape":[],"dtype":"F32"}}"#
        #expect(json.utf8.count % 4 != 0)
        let file = try SafeTensorsFile(data: rawFile(json, f32Bytes([7, 9])))
        #expect(try file.tensor(named: "y").scalars == [7])
        #expect(try file.tensor(named: "y").shape == [])
        #expect(try file.tensor(named: "z").scalars == [9])
        #expect(file.metadata.isEmpty)
    }

    @Test func zeroSizedTensorsShareOffsets() throws {
        let json = #"{"e1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""e2":{"dtype":"I64","shape":[4,0],"data_offsets":[0,0]},"#
            + #""x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let file = try SafeTensorsFile(data: rawFile(json, f32Bytes([3])))
        #expect(try file.tensor(named: "e1").elementCount == 0)
        #expect(try file.integers(named: "e2").isEmpty)
        #expect(try file.tensor(named: "x").item == 3)
    }

    // MARK: - Files on disk

    @Test func writeIsAtomicAndReadsBackMemoryMapped() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try SafeTensors.write(["a": Tensor([1, 2])], metadata: ["v": "1"], to: url)
        try SafeTensors.write(["a": Tensor([3, 4, 5])], metadata: ["v": "2"], to: url)  // replaces
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.metadata == ["v": "2"])
        #expect(try file.tensor(named: "a").scalars == [3, 4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])

        let missing = dir.appendingPathComponent("nope/x.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensors.write(["a": Tensor([1])], to: missing) }
        do {
            try SafeTensors.write(["a": Tensor([1])], to: missing)
        } catch let SafeTensorsError.writeFailed(path, _) {
            #expect(path == missing.path)
        }
        do {
            _ = try SafeTensorsFile(contentsOf: missing)
            Issue.record("opened a missing file")
        } catch let SafeTensorsError.fileUnreadable(path, _) {
            #expect(path == missing.path)
        }
    }

    @Test func smallFilesOnDiskThrow() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in 0..<8 {
            let url = dir.appendingPathComponent("f\(n).safetensors")
            try Data(repeating: 0x7B, count: n).write(to: url)
            #expect(throws: SafeTensorsError.fileTooSmall(byteCount: n)) { try SafeTensorsFile(contentsOf: url) }
        }
    }

    @Test func writerRejectsBadEntries() {
        #expect(throws: SafeTensorsError.invalidTensorForWriting(name: "i", reason: "shape [2, 2] needs 4 values, got 3")) {
            try SafeTensors.encode(entries: ["i": .int64(shape: [2, 2], values: [1, 2, 3])])
        }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.encode(["t": Tensor([1])], dtype: .I32) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.encode(["__metadata__": Tensor([1])]) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.encode(entries: ["i": .int64(shape: [-1], values: [])]) }
    }
}

// MARK: - Malformed files

@Suite("SafeTensors validation")
struct SafeTensorsValidationTests {
    @Test(arguments: 0..<8)
    func filesShorterThan8BytesThrow(length: Int) {
        #expect(readError(Data(repeating: 0xFF, count: length)) == .fileTooSmall(byteCount: length))
    }

    @Test func hugeHeaderLengthsThrow() {
        #expect(readError(rawFile("{}", declaredLength: .max)) == .headerTooLarge(headerLength: .max))
        #expect(readError(rawFile("{}", declaredLength: 100_000_001)) == .headerTooLarge(headerLength: 100_000_001))
        #expect(readError(rawFile("{}", declaredLength: 100_000_000))
            == .headerLengthBeyondFile(headerLength: 100_000_000, fileSize: 10))
        #expect(readError(rawFile("{}", declaredLength: 3)) == .headerLengthBeyondFile(headerLength: 3, fileSize: 10))
    }

    @Test func headerMustBeUTF8JSONObject() {
        var bad = rawFile(#"{"a":"xx"}"#)
        bad[14] = 0xFF
        #expect(readError(bad) == .headerNotUTF8)
        #expect(readError(rawFile(" {}")) == .headerDoesNotStartWithBrace)
        #expect(readError(rawFile("[]")) == .headerDoesNotStartWithBrace)
        #expect(readError(rawFile("")) == .headerDoesNotStartWithBrace)
        for text in [#"{"a":"#, "{}x", #"{"a":1,}"#, #"{'a':1}"#, "{\"a\":\"\u{1}\"}", #"{"a":"\ud800"}"#, "{\"a\":01}"] {
            guard case .invalidJSON = readError(rawFile(text)) else {
                Issue.record("expected invalidJSON for \(text)")
                continue
            }
        }
        let deep = #"{"__metadata__":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        guard case .invalidJSON(let why) = readError(rawFile(deep)) else {
            Issue.record("deep nesting was accepted")
            return
        }
        #expect(why.contains("nesting"))
    }

    @Test func metadataMustMapStringsToStrings() {
        for text in [#"{"__metadata__":{"a":1}}"#, #"{"__metadata__":"x"}"#, #"{"__metadata__":{"a":{"b":"c"}}}"#,
                     #"{"__metadata__":{"a":"b","a":"c"}}"#] {
            guard case .invalidMetadata = readError(rawFile(text)) else {
                Issue.record("expected invalidMetadata for \(text)")
                continue
            }
        }
    }

    @Test func unknownDTypeIsNamed() {
        let data = rawFile(#"{"t":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, Array(repeating: 0, count: 16))
        #expect(readError(data) == .unknownDType(name: "t", dtype: "F128"))
    }

    @Test func malformedTensorEntriesAreNamed() {
        let cases = [
            #"{"t":{"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","shape":[1]}}"#,
            #"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#,
            #"{"t":{"dtype":5,"shape":[1],"data_offsets":[0,4]}}"#,
            #"{"t":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"t":[1]}"#,
        ]
        for text in cases {
            guard case .invalidTensorInfo(let name, _) = readError(rawFile(text, [0, 0, 0, 0])) else {
                Issue.record("expected invalidTensorInfo for \(text)")
                continue
            }
            #expect(name == "t")
        }
    }

    @Test func offsetsMustTileTheBufferFromZero() {
        let hole = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(readError(rawFile(hole, Array(repeating: 0, count: 12)))
            == .invalidOffset(name: "b", begin: 8, end: 12, expectedBegin: 4))

        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(readError(rawFile(overlap, Array(repeating: 0, count: 8)))
            == .invalidOffset(name: "b", begin: 4, end: 8, expectedBegin: 8))

        let notFromZero = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(readError(rawFile(notFromZero, Array(repeating: 0, count: 8)))
            == .invalidOffset(name: "a", begin: 4, end: 8, expectedBegin: 0))

        let backwards = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#
        let error = readError(rawFile(backwards, [0, 0, 0, 0]))
        guard case .invalidOffset(let name, 4, 0, _) = error else {
            Issue.record("end before begin was accepted")
            return
        }
        #expect(name == "a")
        #expect(error?.description.contains("end comes before the begin") == true)
    }

    @Test func sizesMustMatchShapeAndDType() {
        let short = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        #expect(readError(rawFile(short, Array(repeating: 0, count: 8)))
            == .sizeMismatch(name: "a", expectedBytes: 12, actualBytes: 8))

        let overflow = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#
        #expect(readError(rawFile(overflow, Array(repeating: 0, count: 8))) == .sizeOverflow(name: "a"))
        let overflowBits = #"{"a":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,8]}}"#
        #expect(readError(rawFile(overflowBits, Array(repeating: 0, count: 8))) == .sizeOverflow(name: "a"))

        let subByte = #"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#
        #expect(readError(rawFile(subByte, [0, 0])) == .misalignedSlice(name: "a"))
        let packed = #"{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#
        #expect(readError(rawFile(packed, [0, 0])) == nil)
    }

    @Test func bufferMustEndAtEndOfFile() {
        let json = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        #expect(readError(rawFile(json, [0, 0, 0, 0])) == .offsetOutOfRange(name: "a", end: 8, bufferSize: 4))
        #expect(readError(rawFile(json, Array(repeating: 0, count: 9))) == .incompleteBuffer(bufferEnd: 8, bufferSize: 9))
        #expect(readError(rawFile("{}", [1])) == .incompleteBuffer(bufferEnd: 0, bufferSize: 1))
    }

    @Test func duplicateNamesThrow() {
        let json = #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(readError(rawFile(json, Array(repeating: 0, count: 8))) == .duplicateName("t"))
        #expect(readError(rawFile(#"{"__metadata__":{},"__metadata__":{}}"#)) == .duplicateName("__metadata__"))
    }

    @Test func randomBytesAlwaysThrow() {
        var rng = SplitMix64(state: 42)
        for trial in 0..<500 {
            let count = Int.random(in: 0...200, using: &rng)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if trial % 2 == 1, count >= 9 {  // plausible header length and opening brace
                withUnsafeBytes(of: UInt64(count - 8 - Int.random(in: 0...(count - 9), using: &rng)).littleEndian) {
                    for i in 0..<8 { bytes[i] = $0[i] }
                }
                bytes[8] = UInt8(ascii: "{")
            }
            #expect(readError(Data(bytes)) != nil, "trial \(trial)")
        }
    }

    @Test func corruptedValidFilesNeverCrash() throws {
        let valid = try SafeTensors.encode(entries: [
            "a": .float(Tensor([1, 2, 3]), .BF16), "b": .int64(shape: [2], values: [4, 5]),
            "c": .float(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), .F32),
        ], metadata: ["k": "v"])
        var rng = SplitMix64(state: 7)
        for _ in 0..<1000 {
            var bytes = Array(valid)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng)) }
            guard let file = try? SafeTensorsFile(data: Data(bytes)) else { continue }
            for name in file.names {
                _ = try? file.tensor(named: name)
                _ = try? file.integers(named: name)
            }
        }
    }

    @Test func errorsDescribeTheirCause() {
        #expect(SafeTensorsError.invalidOffset(name: "w", begin: 8, end: 12, expectedBegin: 4).description.contains("'w'"))
        #expect(SafeTensorsError.headerTooLarge(headerLength: 1 << 40).description.contains("too large"))
        #expect(SafeTensorsError.missingShard(file: "/x/s2.safetensors", tensor: "b").description.contains("s2.safetensors"))
    }
}

// MARK: - Sharded checkpoints

@Suite("SafeTensors sharded checkpoints")
struct ShardedCheckpointTests {
    private func writeShards(in dir: URL, index: String? = nil) throws {
        try SafeTensors.write(["a": Tensor([1, 2]), "b": Tensor([3])], to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try SafeTensors.write(entries: ["c": .float(Tensor([4, 5, 6]), .BF16), "ids": .int64(shape: [2], values: [7, 8])],
                              to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        let json = index ?? #"""
            {"metadata": {"total_size": 40},
             "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                            "c": "model-00002-of-00002.safetensors", "ids": "model-00002-of-00002.safetensors"}}
            """#
        try Data(json.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
    }

    @Test func loadsTwoShardsFromDirectoryOrIndex() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeShards(in: dir)
        for url in [dir, dir.appendingPathComponent("model.safetensors.index.json")] {
            let ckpt = try ShardedCheckpoint(contentsOf: url)
            #expect(ckpt.url.lastPathComponent == "model.safetensors.index.json")
            #expect(ckpt.names == ["a", "b", "c", "ids"])
            #expect(try ckpt.tensor(named: "a").scalars == [1, 2])
            #expect(try ckpt.tensor(named: "b").scalars == [3])
            #expect(try ckpt.tensor(named: "c").scalars == [4, 5, 6])
            #expect(try ckpt.integers(named: "ids") == [7, 8])
            #expect(ckpt.info(for: "c")?.dtype == .BF16)
            #expect(ckpt.weightMap["c"] == "model-00002-of-00002.safetensors")
            #expect(throws: SafeTensorsError.tensorNotFound("zzz")) { try ckpt.tensor(named: "zzz") }
        }
    }

    @Test func opensSingleFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try SafeTensors.write(["x": Tensor([9])], to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        #expect(try ShardedCheckpoint(contentsOf: dir).tensor(named: "x").scalars == [9])

        let other = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: other) }
        let file = other.appendingPathComponent("weights.safetensors")
        try SafeTensors.write(["y": Tensor([8])], to: file)
        #expect(try ShardedCheckpoint(contentsOf: other).names == ["y"])
        #expect(try ShardedCheckpoint(contentsOf: file).tensor(named: "y").scalars == [8])

        try SafeTensors.write(["z": Tensor([7])], to: other.appendingPathComponent("more.safetensors"))
        guard case .ambiguousCheckpoint(_, let candidates) = checkpointError(other) else {
            Issue.record("two candidate files were not reported")
            return
        }
        #expect(candidates == ["more.safetensors", "weights.safetensors"])
    }

    @Test func missingShardFileIsNamed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeShards(in: dir)
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        try FileManager.default.removeItem(at: shard)
        #expect(checkpointError(dir) == .missingShard(file: shard.path, tensor: "c"))
    }

    @Test func tensorListedButAbsentFromShardIsNamed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeShards(in: dir, index: #"{"weight_map": {"a": "model-00001-of-00002.safetensors", "#
                            + #""c": "model-00001-of-00002.safetensors"}}"#)
        let shard = dir.appendingPathComponent("model-00001-of-00002.safetensors")
        #expect(checkpointError(dir) == .tensorMissingFromShard(tensor: "c", file: shard.path))
    }

    @Test func invalidShardIsNamed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeShards(in: dir)
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        try Data([1, 2, 3]).write(to: shard)
        #expect(checkpointError(dir) == .invalidShard(file: shard.path, error: .fileTooSmall(byteCount: 3)))
    }

    @Test func malformedIndexesThrow() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = [
            "not json", #"{"metadata": {}}"#, #"{"weight_map": []}"#, #"{"weight_map": {"a": 3}}"#,
            #"{"weight_map": {"a": "../model-00001-of-00002.safetensors"}}"#, #"{"weight_map": {"a": "/etc/passwd"}}"#,
            #"{"weight_map": {"a": "model-00001-of-00002.safetensors", "a": "model-00001-of-00002.safetensors"}}"#,
        ]
        for json in bad {
            try writeShards(in: dir, index: json)
            guard case .invalidIndex(let path, _) = checkpointError(dir) else {
                Issue.record("accepted index \(json)")
                continue
            }
            #expect(path.hasSuffix("model.safetensors.index.json"))
        }
    }

    @Test func emptyOrMissingLocationsThrow() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(checkpointError(dir) == .noCheckpointFound(path: dir.path))
        let missing = dir.appendingPathComponent("absent")
        #expect(checkpointError(missing) == .fileUnreadable(path: missing.path, reason: "no such file or directory"))
    }
}
