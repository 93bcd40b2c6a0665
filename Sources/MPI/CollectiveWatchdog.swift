import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ends the process when one collective operation has waited longer than `timeout` seconds:
/// the other ranks are gone or stalled, and waiting longer would hang the job. The exit status is
/// 3; `mpirun` then ends the remaining ranks.
final class CollectiveWatchdog: Sendable {
    private struct State {
        var operation: String?
        var since = Date()
        var stopped = false
    }
    private let state = Mutex(State())
    let timeout: TimeInterval
    let rank: Int

    init(timeout: TimeInterval, rank: Int) {
        self.timeout = timeout
        self.rank = rank
        let thread = Thread { [self] in self.watch() }
        thread.name = "unirl-collective-watchdog"
        thread.start()
    }

    func enter(_ operation: String) { state.withLock { $0.operation = operation; $0.since = Date() } }
    func leave() { state.withLock { $0.operation = nil } }
    func stop() { state.withLock { $0.stopped = true } }

    private func watch() {
        let poll = min(0.5, max(0.01, timeout / 10))
        while true {
            Thread.sleep(forTimeInterval: poll)
            let (stopped, overdue) = state.withLock { s -> (Bool, String?) in
                guard let op = s.operation, Date().timeIntervalSince(s.since) > timeout else { return (s.stopped, nil) }
                return (s.stopped, op)
            }
            if stopped { return }
            if let overdue {
                let message = "unirl rank \(rank): \(overdue) has waited more than \(timeout) s for the other ranks "
                    + "(one of them died or stalled); ending this process so that mpirun ends the job\n"
                FileHandle.standardError.write(Data(message.utf8))
                _exit(3)
            }
        }
    }
}

/// Test-only faults, from `UNIRL_MPI_FAULT_INJECTION=<rank>:<call>:<die|hang>`: rank `<rank>`, at its
/// `<call>`-th collective operation, kills itself (SIGKILL) or stops making progress forever.
/// The MPI failure tests use it to check that the job ends instead of hanging.
struct FaultInjection {
    enum Kind: String { case die, hang }
    let call: Int
    let kind: Kind

    init?(environment: [String: String], rank: Int) {
        let parts = (environment["UNIRL_MPI_FAULT_INJECTION"] ?? "").split(separator: ":").map(String.init)
        guard parts.count == 3, Int(parts[0]) == rank, let call = Int(parts[1]), let kind = Kind(rawValue: parts[2]) else {
            return nil
        }
        self.call = call
        self.kind = kind
    }

    func trigger(call n: Int) {
        guard n == call else { return }
        switch kind {
        case .die: kill(getpid(), SIGKILL)
        case .hang: while true { Thread.sleep(forTimeInterval: 3600) }
        }
    }
}
