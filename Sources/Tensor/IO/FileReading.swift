import Foundation

extension Data {
    /// Reads a whole file, as `Data(contentsOf:options:)` does, without its leak on empty files.
    ///
    /// swift-foundation (Swift 6.3) leaks its 4 KB read buffer when `Data(contentsOf:)` reads an empty
    /// regular file, mapped or not; libFuzzer with LeakSanitizer found it through an empty `config.json`
    /// (`docs/RELIABILITY.md`). An empty regular file is answered here without that path; anything else
    /// (missing files, pipes, `/proc` files whose size reads 0) goes through Foundation unchanged.
    public init(readingFileAt url: URL, options: Data.ReadingOptions = []) throws {
        if url.isFileURL, let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
            attributes[.type] as? FileAttributeType == .typeRegular, (attributes[.size] as? NSNumber)?.intValue == 0
        {
            self.init()
            return
        }
        try self.init(contentsOf: url, options: options)
    }
}
