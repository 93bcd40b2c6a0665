import Foundation

/// Runs the Python half of a benchmark, a script under `scripts/` in the reference environment
/// (`scripts/setup-reference-env.sh`), when that environment exists. Every such script prints
/// `{"torch", "transformers"?, "diffusers"?, "results": [{"name", "pass", "ms"}]}` on standard output.
struct ReferenceBenchmark {
    struct Result: Decodable {
        var name: String
        var pass: String
        var ms: Double
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
        python = root.appendingPathComponent(".venv-reference/bin/python")
        script = root.appendingPathComponent(path)
        let files = FileManager.default
        guard files.isExecutableFile(atPath: python.path), files.fileExists(atPath: script.path) else { return nil }
    }

    /// Runs the script with `arguments`; nil (with a message on standard error) when it fails.
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
        return try? JSONDecoder().decode(Output.self, from: data)
    }
}
