import Foundation

/// Finds a key that appears twice in one JSON object. Foundation's decoders keep the last value
/// silently; YAML (Yams) refuses the same document, and so should JSON configuration files.
enum JSONDuplicateKeys {
    /// The first duplicated key, or nil. Malformed documents return nil (the parser reports them).
    static func first(in bytes: [UInt8]) -> String? {
        // One entry per open container: the keys seen so far for an object, nil for an array.
        var stack: [Set<String>?] = []
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"): stack.append([]); i += 1
            case UInt8(ascii: "["): stack.append(nil); i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                i += 1
            case UInt8(ascii: "\""):
                guard let end = stringEnd(bytes, from: i) else { return nil }
                var j = end + 1
                while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: ":"), let top = stack.last, var keys = top {
                    let key = decode(Array(bytes[i...end]))
                    if keys.contains(key) { return key }
                    keys.insert(key)
                    stack[stack.count - 1] = keys
                }
                i = end + 1
            default: i += 1
            }
        }
        return nil
    }

    /// The index of the quote that closes the string opening at `start`.
    private static func stringEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var j = start + 1
        while j < bytes.count {
            if bytes[j] == UInt8(ascii: "\\") {
                j += 2
            } else if bytes[j] == UInt8(ascii: "\"") {
                return j
            } else {
                j += 1
            }
        }
        return nil
    }

    /// A quoted JSON string's value (escapes resolved), or its raw text when it does not decode.
    private static func decode(_ quoted: [UInt8]) -> String {
        let data = Data(quoted)
        if let s = try? JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed) as? String { return s }
        return String(decoding: quoted, as: UTF8.self)
    }
}
