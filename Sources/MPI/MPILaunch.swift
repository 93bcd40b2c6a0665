import Foundation
import UniRLCore

/// How a command started by `mpirun` joins its job: the one place that decides between Open MPI
/// and a single process, for `unirl train` and for a user's package alike.
public enum MPILaunch {
    /// Whether this process was started by Open MPI's `mpirun` (which sets `OMPI_COMM_WORLD_SIZE`).
    public static var isUnderMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// Whether this build has Open MPI (the package trait `MPI`).
    public static var isAvailable: Bool {
        #if MPI
        true
        #else
        false
        #endif
    }

    /// The collective of this process: Open MPI's world when built with the `MPI` trait (under
    /// `mpirun`, or one process without it), else a single process; refuses to run as N
    /// independent copies when `mpirun` started a build without MPI.
    public static func collective(timeout: TimeInterval) throws -> any Collective {
        #if MPI
        return try MPICollective(timeout: timeout)
        #else
        if isUnderMPIRun { throw MPILaunchError.builtWithoutMPI }
        return SingleProcessCollective()
        #endif
    }

    /// Data-parallel settings when started by `mpirun`, nil otherwise (a plain one-process run).
    public static func dataParallel(timeout: TimeInterval, weightCheckInterval: Int) throws -> DataParallel? {
        guard isUnderMPIRun else { return nil }
        return DataParallel(collective: try collective(timeout: timeout), weightCheckInterval: weightCheckInterval)
    }

    /// Ends MPI after a successful run. A failing rank must not call it: it exits with an error,
    /// and `mpirun` ends the others.
    public static func finish(_ collective: (any Collective)?) {
        #if MPI
        (collective as? MPICollective)?.finalize()
        #endif
    }
}

/// Why a process could not join its MPI job.
public enum MPILaunchError: Error, CustomStringConvertible, Equatable {
    case builtWithoutMPI

    public var description: String {
        switch self {
        case .builtWithoutMPI:
            "started by mpirun, but this build has no MPI: install Open MPI (make deps) and build with "
                + "`swift build -c release --traits MPI`, or in a package depending on UniRL, traits: [\"MPI\"]"
        }
    }
}
