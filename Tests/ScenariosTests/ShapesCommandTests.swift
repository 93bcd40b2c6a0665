import Foundation
import Testing

/// `unirl shapes render` and `unirl shapes eval` as the README uses them, and their refusals.
@Suite struct ShapesCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String, reason: Process.TerminationReason) {
        let binary = try #require(CrashResumeTests.binary, "build the unirl binary first (swift build --build-tests)")
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), p.terminationReason)
    }

    func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unirl-shapes-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The README's two lines: render --dir, then eval, score the whole bundled evaluation set.
    @Test func readmeEvaluationExampleScoresTheEvaluationSet() throws {
        let root = folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("renders").path
        let render = try run(["shapes", "render", "--dir", dir, "--output", root.appendingPathComponent("grid.png").path])
        #expect(render.status == 0, "\(render.output)")
        let eval = try run(["shapes", "eval", "--images", dir])
        #expect(eval.status == 0)
        #expect(eval.output.contains("Overall score (avg. over tasks): 1.00000"), "\(eval.output)")
        #expect(!eval.output.contains("have no image"))
    }

    /// Prompts without images are said in the table itself, not only on standard error.
    @Test func missingImagesAreWarnedInTheTable() throws {
        let root = folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("three").path
        let render = try run([
            "shapes", "render", "--count", "3", "--split", "evaluation", "--dir", dir,
            "--output", root.appendingPathComponent("grid.png").path,
        ])
        #expect(render.status == 0, "\(render.output)")
        let p = Process()
        p.executableURL = try #require(CrashResumeTests.binary)
        p.arguments = ["shapes", "eval", "--images", dir]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let table = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(table.contains("warning: 597 of 600 prompts have no image and are left out of this score"), "\(table)")
    }

    @Test func hugeCountsAndFilesInTheWayAreRefusedInWords() throws {
        let huge = try run(["shapes", "render", "--count", "100000000000"])
        #expect(huge.reason == .exit && huge.status != 0)
        #expect(huge.output.contains("--count 100000000000") && huge.output.contains("of memory"), "\(huge.output)")
        let root = folder()
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let blocked = try run([
            "shapes", "render", "--count", "2", "--dir", file.path, "--output", root.appendingPathComponent("g.png").path,
        ])
        #expect(blocked.reason == .exit && blocked.status != 0)
        #expect(blocked.output.contains("cannot create the folder \(file.path): it exists and is a file"), "\(blocked.output)")
    }
}
