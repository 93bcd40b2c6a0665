import Foundation

/// A one-line progress bar on standard error, redrawn in place on a terminal and printed every
/// 10% otherwise (so logs stay readable).
struct TerminalProgress {
    let total: Int
    let label: String
    private(set) var done = 0
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0

    init(total: Int, label: String) {
        self.total = Swift.max(total, 1)
        self.label = label
    }

    mutating func advance(status: String = "") {
        done += 1
        let tenth = Swift.max(total / 10, 1)
        guard interactive || done % tenth == 0 || done == total else { return }
        let width = 30
        let filled = width * done / total
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ %@ %d/%d  %.0fs<%.0fs  %@", label, bar, done, total, elapsed, eta, status)
        FileHandle.standardError.write(Data(((interactive ? "\r" : "") + line + (interactive ? "" : "\n")).utf8))
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
