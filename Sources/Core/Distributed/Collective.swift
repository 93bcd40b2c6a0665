import Foundation

/// The collective operations data-parallel training needs, independent of the transport.
///
/// Every process of a job (a *rank*, numbered `0..<size`) calls the same operations in the same
/// order; each call returns once every rank has made it. ``SingleProcessCollective`` is the
/// one-process implementation; `UniRLMPI.MPICollective` (built with the package trait `MPI`)
/// runs the same operations over Open MPI.
public protocol Collective: AnyObject {
    /// This process's index in the job, `0..<size`.
    var rank: Int { get }
    /// The number of processes in the job.
    var size: Int { get }
    /// Replaces `buffer` on every rank with the element-wise sum over the ranks.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` on every rank with the element-wise sum over the ranks (small vectors:
    /// counts, losses, flags; exact for integers below 2⁵³).
    func allReduceSum(_ values: inout [Double]) throws
    /// Replaces `bytes` on every rank with rank `root`'s bytes (every rank passes a buffer of the
    /// same length).
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Every rank's `values` (the lengths may differ), indexed by rank.
    func allGather(_ values: [Double]) throws -> [[Double]]
}

extension Collective {
    /// Whether this rank writes the job's files (metrics, checkpoints, summaries): rank 0.
    public var isWriter: Bool { rank == 0 }

    /// The element-wise sum over the ranks of a `[Float]`.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }
}

/// A job of one process: every operation returns its input.
public final class SingleProcessCollective: Collective {
    public let rank = 0
    public let size = 1

    public init() {}

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ values: inout [Double]) throws {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        guard root == 0 else { throw CollectiveError.badRoot(root, size: 1) }
    }
    public func barrier() throws {}
    public func allGather(_ values: [Double]) throws -> [[Double]] { [values] }
}

/// Why a collective operation failed.
public enum CollectiveError: Error, CustomStringConvertible, Equatable {
    /// The transport reported an error (its code and message).
    case transport(operation: String, code: Int, message: String)
    /// A broadcast named a root outside `0..<size`.
    case badRoot(Int, size: Int)
    /// A buffer too large for one call of the transport.
    case tooLarge(elements: Int, limit: Int)

    public var description: String {
        switch self {
        case .transport(let op, let code, let message): "\(op) failed (error \(code)): \(message)"
        case .badRoot(let r, let size): "broadcast root \(r) is not a rank of a job of \(size)"
        case .tooLarge(let n, let limit): "a collective buffer of \(n) elements exceeds the transport's \(limit)"
        }
    }
}
