import Foundation

/// Runs the PyTorch half of a benchmark through `scripts/bench_torch.py` in the reference
/// environment (`scripts/setup-reference-env.sh`), when that environment exists.
struct TorchReference {
    struct Result: Decodable { var name: String; var pass: String; var ms: Double }
    struct Output: Decodable { var torch: String; var results: [Result] }

    let python: URL
    let script: URL

    /// Finds `.venv-reference/bin/python` and the script under `root` (the package directory).
    init?(root: URL) {
        python = root.appendingPathComponent(".venv-reference/bin/python")
        script = root.appendingPathComponent("scripts/bench_torch.py")
        guard FileManager.default.isExecutableFile(atPath: python.path),
              FileManager.default.fileExists(atPath: script.path) else { return nil }
    }

    /// Runs the named cases with `threads` threads; returns nil (with a message) when the script fails.
    func run(cases: [String], threads: Int) -> Output? {
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path, "--threads", String(threads)] + cases.flatMap { ["--only", $0] }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            FileHandle.standardError.write(Data("PyTorch reference could not start: \(error)\n".utf8))
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("PyTorch reference exited with status \(process.terminationStatus)\n".utf8))
            return nil
        }
        return try? JSONDecoder().decode(Output.self, from: data)
    }
}
