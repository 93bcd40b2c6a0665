import Foundation
import Testing
import UniRLFuzzTargets

/// A short smoke run of every fuzz target: the committed seeds and crash reproducers
/// (`Fuzz/Seeds/<target>/`), plus simple mutations of each (truncations, flipped bytes), go
/// through the same entry points the libFuzzer harness calls. A crash here fails the suite.
@Suite struct FuzzSeedTests {
    static let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Seeds")

    @Test(arguments: FuzzTargets.names)
    func seedsAndTheirMutationsRunCleanly(target: String) throws {
        let folder = Self.seeds.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(!files.isEmpty, "no seeds for \(target)")
        for file in files {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            #expect(FuzzTargets.run(target, data))
            for cut in stride(from: 0, to: data.count, by: max(1, data.count / 16)) { FuzzTargets.run(target, data.prefix(cut)) }
            var flipped = data
            for i in stride(from: 0, to: flipped.count, by: max(1, flipped.count / 32)) {
                flipped[i] ^= 0xFF
                FuzzTargets.run(target, flipped)
            }
        }
    }

    @Test func unknownTargetsAreReported() {
        #expect(!FuzzTargets.run("no-such-target", Data()))
    }
}
