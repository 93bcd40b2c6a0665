#if MPI
import CMPI
import Foundation
import UniRLCore

#if canImport(Glibc)
import Glibc
#endif

/// ``Collective`` over Open MPI's `MPI_COMM_WORLD` (built with the package trait `MPI`).
///
/// Failure handling, so that a job never hangs:
/// - MPI errors are returned (`MPI_ERRORS_RETURN`), not fatal inside MPI, and become
///   ``CollectiveError/transport(operation:code:message:)``; the process then exits with an error
///   without `MPI_Finalize`, and `mpirun` ends the other ranks.
/// - A rank that dies (a crash, a kill, out of memory) is noticed by `mpirun`, which ends the
///   whole job ("mpirun noticed that process rank … exited on signal …").
/// - A rank that stops making progress without dying (a stalled machine, a deadlock) leaves the
///   others waiting inside a collective: a watchdog thread ends a process that has waited in one
///   operation longer than `timeout` seconds (exit status 3, with the operation named on standard
///   error), and `mpirun` then ends the rest.
public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int
    private let world: MPI_Comm
    private let watchdog: CollectiveWatchdog
    private let fault: FaultInjection?
    private var calls = 0

    /// Initialises MPI (the first instance of the process does) and starts the watchdog.
    /// - Parameter timeout: the longest one collective operation may wait, in seconds; it must
    ///   exceed the longest time one rank may spend between two collectives while another waits
    ///   (a step's rollout, a checkpoint write).
    public init(timeout: TimeInterval = 1800) throws {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            let code = MPI_Init(nil, nil)
            guard code == unirl_mpi_success() else { throw Self.error("MPI_Init", code) }
        }
        world = unirl_mpi_comm_world()
        MPI_Comm_set_errhandler(world, unirl_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r)
        size = Int(s)
        watchdog = CollectiveWatchdog(timeout: timeout, rank: rank)
        fault = FaultInjection(environment: ProcessInfo.processInfo.environment, rank: rank)
    }

    /// Whether this process was started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`).
    public static var isLaunchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// Ends MPI after a successful run (every rank calls it; a failed run exits without it so
    /// that `mpirun` ends the others).
    public func finalize() {
        watchdog.stop()
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard buffer.count <= Int(Int32.max) else { throw CollectiveError.tooLarge(elements: buffer.count, limit: Int(Int32.max)) }
        try call("MPI_Allreduce") {
            MPI_Allreduce(unirl_mpi_in_place(), buffer.baseAddress, Int32(buffer.count), unirl_mpi_float(), unirl_mpi_sum(), world)
        }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        let count = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { b in
            try call("MPI_Allreduce") {
                MPI_Allreduce(unirl_mpi_in_place(), b.baseAddress, count, unirl_mpi_double(), unirl_mpi_sum(), world)
            }
        }
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        guard (0..<size).contains(root) else { throw CollectiveError.badRoot(root, size: size) }
        let count = Int32(bytes.count)
        try bytes.withUnsafeMutableBufferPointer { b in
            try call("MPI_Bcast") { MPI_Bcast(b.baseAddress, count, unirl_mpi_byte(), Int32(root), world) }
        }
    }

    public func barrier() throws {
        try call("MPI_Barrier") { MPI_Barrier(world) }
    }

    public func allGather(_ values: [Double]) throws -> [[Double]] {
        var counts = [Int32](repeating: 0, count: size)
        var mine = Int32(values.count)
        try call("MPI_Allgather") { MPI_Allgather(&mine, 1, unirl_mpi_int(), &counts, 1, unirl_mpi_int(), world) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        var all = [Double](repeating: 0, count: Int(counts.reduce(0, +)))
        var send = values
        try call("MPI_Allgatherv") {
            MPI_Allgatherv(&send, mine, unirl_mpi_double(), &all, &counts, &offsets, unirl_mpi_double(), world)
        }
        return (0..<size).map { r in Array(all[Int(offsets[r])..<Int(offsets[r] + counts[r])]) }
    }

    /// Runs one MPI operation under the watchdog, turning an error code into a Swift error.
    private func call(_ operation: String, _ body: () -> Int32) throws {
        calls += 1
        fault?.trigger(call: calls)
        watchdog.enter(operation)
        let code = body()
        watchdog.leave()
        guard code == unirl_mpi_success() else { throw Self.error(operation, code) }
    }

    private static func error(_ operation: String, _ code: Int32) -> CollectiveError {
        var buffer = [CChar](repeating: 0, count: Int(unirl_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        let message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .transport(operation: operation, code: Int(code), message: message)
    }
}
#endif
