import Foundation
import Testing
import UniRLTensor

/// `Data(readingFileAt:)`: what `Data(contentsOf:)` reads, with empty files answered without Foundation's leaky path.
@Suite struct FileReadingTests {
    private func scratch(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("unirl-file-reading-\(getpid())-\(name)")
    }

    @Test func emptyAndNonEmptyFilesReadAsFoundationReadsThem() throws {
        let empty = scratch("empty"), full = scratch("full")
        defer { try? FileManager.default.removeItem(at: empty); try? FileManager.default.removeItem(at: full) }
        try Data().write(to: empty)
        try Data([1, 2, 3, 255]).write(to: full)
        #expect(try Data(readingFileAt: empty).isEmpty)
        #expect(try Data(readingFileAt: full) == Data([1, 2, 3, 255]))
        #expect(try Data(readingFileAt: full, options: .alwaysMapped) == Data(contentsOf: full))
    }

    @Test func aMissingFileOrAFolderStillThrows() throws {
        #expect(throws: (any Error).self) { try Data(readingFileAt: scratch("missing")) }
        #expect(throws: (any Error).self) { try Data(readingFileAt: FileManager.default.temporaryDirectory) }
    }
}
