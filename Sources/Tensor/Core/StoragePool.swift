import Foundation
import Synchronization

/// Recycles large tensor buffers by exact size.
///
/// Every op allocates its result, and training repeats the same shapes step after step. Large
/// blocks from malloc come straight from mmap and are page-faulted in on first touch each time;
/// reusing a freed block of the same size skips both. The pool keeps at most `limitBytes`
/// (`UNIRL_STORAGE_POOL_MB`, default 512; 0 turns it off) and only blocks of 64 KiB or more.
final class StoragePool: @unchecked Sendable {
    static let shared = StoragePool(limitBytes: {
        if let s = ProcessInfo.processInfo.environment["UNIRL_STORAGE_POOL_MB"], let mb = Int(s), mb >= 0 { return mb << 20 }
        return 512 << 20
    }())

    /// Buffers smaller than this many floats go straight to malloc.
    static let minimumCount = 16_384

    /// A free block; only the pool holds it, so handing it between threads is safe.
    private struct Block: @unchecked Sendable { let pointer: UnsafeMutablePointer<Float> }

    private struct State {
        var free: [Int: [Block]] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    let limitBytes: Int

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// A recycled buffer of exactly `count` floats, if one is free.
    func take(count: Int) -> UnsafeMutablePointer<Float>? {
        guard limitBytes > 0 else { return nil }
        return state.withLock { s -> UncheckedSendable<UnsafeMutablePointer<Float>>? in
            guard let block = s.free[count]?.popLast() else { return nil }
            s.bytes -= count * MemoryLayout<Float>.stride
            return UncheckedSendable(block.pointer)
        }?.value
    }

    /// Keeps `pointer` for reuse; returns false (the caller frees it) when the pool is full.
    func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        let size = count * MemoryLayout<Float>.stride
        guard limitBytes > 0 else { return false }
        let block = Block(pointer: pointer)
        let limit = limitBytes
        return state.withLock { s in
            guard s.bytes + size <= limit else { return false }
            s.free[count, default: []].append(block)
            s.bytes += size
            return true
        }
    }
}
