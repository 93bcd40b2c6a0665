/// Byte sequences → ids: an open-addressing hash table looked up by pointer and length, so that a
/// piece of the input is found without copying it.
///
/// A sequence of `n` bytes is summarised by two words, ``Key``: for `n` ≤ 16 they hold every byte
/// (first and last 8, 4 or so), so most lookups touch one slot and one entry; longer sequences also
/// compare their middle in a flat byte buffer. Immutable after `init`, which is what makes the
/// `@unchecked Sendable` true.
final class ByteSequenceTable: @unchecked Sendable {
    struct Key: Equatable {
        var first: UInt64, last: UInt64

        @inline(__always) init(_ p: UnsafePointer<UInt8>, _ n: Int) {
            let raw = UnsafeRawPointer(p)
            if n >= 8 {
                first = raw.loadUnaligned(as: UInt64.self)
                last = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else if n >= 4 {
                first = UInt64(raw.loadUnaligned(as: UInt32.self))
                last = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            } else if n > 0 {
                first = UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1]) << 16
                last = 0
            } else {
                first = 0; last = 0
            }
        }

        @inline(__always) func hash(_ n: Int) -> UInt64 {
            var h = (first ^ 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ 1)) &* 0xFF51_AFD7_ED55_8CCD
            h = (h ^ (h >> 32) ^ last) &* 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 29)
        }
    }

    struct Entry {
        var key: Key
        var start: Int32
        var length: Int32
        var id: Int32
    }

    private let entries: UnsafeMutableBufferPointer<Entry>
    /// Every entry's bytes, back to back (compared only past 16 bytes).
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    /// 0 = empty; else the hash's top 32 bits above `entry + 1`.
    private let slots: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int
    let count: Int

    /// The first byte sequence the input repeats (the later copy is left out of the table).
    private(set) var duplicate: (bytes: [UInt8], ids: (Int, Int))?

    /// The table of `items` (ids below 2³¹); check ``duplicate`` afterwards.
    init(_ items: [(bytes: [UInt8], id: Int)]) {
        count = items.count
        let total = items.reduce(0) { $0 + $1.bytes.count }
        bytes = .allocate(capacity: max(total, 1))
        entries = .allocate(capacity: max(count, 1))
        var capacity = 16
        while capacity < 2 * count { capacity *= 2 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0)
        mask = capacity - 1
        var offset = 0
        for (e, item) in items.enumerated() {
            let start = offset
            for b in item.bytes { bytes[offset] = b; offset += 1 }
            let key = Key(UnsafePointer(bytes.baseAddress! + start), item.bytes.count)
            entries[e] = Entry(key: key, start: Int32(start), length: Int32(item.bytes.count), id: Int32(truncatingIfNeeded: item.id))
        }
        for e in 0..<count {
            let p = UnsafePointer(bytes.baseAddress! + Int(entries[e].start)), n = Int(entries[e].length)
            let h = entries[e].key.hash(n)
            var slot = Int(truncatingIfNeeded: h) & mask
            var repeated = false
            while slots[slot] != 0 {
                let other = Int(truncatingIfNeeded: slots[slot] & 0xFFFF_FFFF) - 1
                if slots[slot] >> 32 == h >> 32, matches(other, entries[e].key, p, n) {
                    if duplicate == nil { duplicate = (items[e].bytes, (items[other].id, items[e].id)) }
                    repeated = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if !repeated { slots[slot] = (h >> 32) << 32 | UInt64(e + 1) }
        }
    }

    deinit {
        entries.deallocate(); bytes.deallocate(); slots.deallocate()
    }

    @inline(__always) private func matches(_ e: Int, _ key: Key, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let entry = entries[e]
        guard Int(entry.length) == n, entry.key == key else { return false }
        return n <= 16 || memoryEquals(bytes.baseAddress! + Int(entry.start) + 8, p + 8, n - 16)
    }

    /// The id of the `n` bytes at `p`, or -1.
    @inline(__always) func id(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let key = Key(p, n)
        let h = key.hash(n)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[slot]
            if s == 0 { return -1 }
            if s >> 32 == h >> 32 {
                let e = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                if matches(e, key, p, n) { return Int(entries[e].id) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The id of `sequence`, or nil.
    func id(of sequence: [UInt8]) -> Int? {
        if sequence.isEmpty { return nil }
        let r = sequence.withUnsafeBufferPointer { id($0.baseAddress!, $0.count) }
        return r < 0 ? nil : r
    }

    /// Every entry (for building the decoder).
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) rethrows {
        for e in 0..<count {
            try body(UnsafeBufferPointer(start: bytes.baseAddress! + Int(entries[e].start), count: Int(entries[e].length)),
                     Int(entries[e].id))
        }
    }
}

/// Merge rules of a `tokenizer.json`: (left id, right id) → (priority, merged id), open addressing
/// on the packed pair. Immutable after `init`.
final class MergeTable: @unchecked Sendable {
    private let keys: UnsafeMutableBufferPointer<UInt64>
    private let values: UnsafeMutableBufferPointer<UInt64>
    private let mask: Int

    /// `rules[i]` = (left, right, merged); the priority is the position `i`. The first of repeated
    /// pairs wins, as in Hugging Face `tokenizers`.
    init(_ rules: [(left: Int, right: Int, merged: Int)]) {
        var capacity = 16
        while capacity < 2 * rules.count { capacity *= 2 }
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: .max)
        values = .allocate(capacity: capacity)
        values.initialize(repeating: 0)
        mask = capacity - 1
        for (priority, rule) in rules.enumerated() {
            let key = UInt64(rule.left) << 32 | UInt64(rule.right)
            var slot = Self.slot(key, mask)
            while keys[slot] != .max && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == key { continue }
            keys[slot] = key
            values[slot] = UInt64(priority) << 32 | UInt64(rule.merged)
        }
    }

    deinit { keys.deallocate(); values.deallocate() }

    @inline(__always) static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Priority in the high 32 bits and merged id in the low 32, or `UInt64.max` when the pair
    /// does not merge.
    @inline(__always) func rule(_ left: Int, _ right: Int) -> UInt64 {
        let key = UInt64(left) << 32 | UInt64(right)
        var slot = Self.slot(key, mask)
        while true {
            let k = keys[slot]
            if k == key { return values[slot] }
            if k == .max { return .max }
            slot = (slot + 1) & mask
        }
    }
}

@inline(__always) func memoryEquals(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
