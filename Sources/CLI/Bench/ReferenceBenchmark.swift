import Foundation

/// Runs the Python half of a benchmark, a script under `scripts/` in the reference environment
/// (`scripts/setup-reference-env.sh`), when that environment exists. Every such script prints
/// `{"torch", "transformers"?, "diffusers"?, "results": [{"name", "pass", "ms"}]}` on standard output.
struct ReferenceBenchmark {
    struct Result: Decodable {
        var name: String
        /// The pass (`forward`, `forward_backward`); scripts with one pass per case leave it out.
        var pass: String?
        var ms: Double
        /// The peak resident memory of the script's process while the case ran (VmHWM reset before it), MiB.
        var peakRSSMiB: Double?
        /// The case's matrix-product work in GFLOP (torch.utils.flop_counter), when the script counts it.
        var gflop: Double?
        enum CodingKeys: String, CodingKey {
            case name, pass, ms, gflop
            case peakRSSMiB = "peak_rss_mib"
        }
    }

    struct Output: Decodable {
        var torch: String
        var transformers: String?
        var diffusers: String?
        var results: [Result]

        /// The result of case `name` (and pass `pass`, when given).
        func result(_ name: String, pass: String? = nil) -> Result? {
            results.first { $0.name == name && (pass == nil || $0.pass == pass) }
        }
    }

    let python: URL
    let script: URL

    /// Finds `.venv-reference/bin/python` and `script` (a path such as `scripts/bench_torch.py`) under
    /// `root`, the package directory; nil when either is missing.
    init?(root: URL, script path: String) {
        python = referencePython(root: root)
        script = root.appendingPathComponent(path)
        let files = FileManager.default
        guard files.isExecutableFile(atPath: python.path), files.fileExists(atPath: script.path) else { return nil }
    }

    /// Runs the script with `arguments`; nil (with a message on standard error) when it fails or
    /// prints something that is not the expected JSON.
    func run(arguments: [String]) -> Output? {
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            FileHandle.standardError.write(Data("\(script.lastPathComponent) could not start: \(error)\n".utf8))
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            FileHandle.standardError.write(Data("\(script.lastPathComponent) exited with status \(process.terminationStatus)\n".utf8))
            return nil
        }
        do { return try JSONDecoder().decode(Output.self, from: data) } catch {
            FileHandle.standardError.write(Data("\(script.lastPathComponent) printed unexpected output: \(error)\n".utf8))
            return nil
        }
    }
}

/// The reference environment's Python: `$UNIRL_REFERENCE_PYTHON` when set (a checkout without its own
/// `.venv-reference`, e.g. a git worktree, points at another one), else `root/.venv-reference/bin/python`.
func referencePython(root: URL) -> URL {
    if let path = ProcessInfo.processInfo.environment["UNIRL_REFERENCE_PYTHON"], !path.isEmpty {
        return URL(fileURLWithPath: path)
    }
    return root.appendingPathComponent(".venv-reference/bin/python")
}
