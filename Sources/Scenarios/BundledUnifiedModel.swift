import Foundation

/// Where the package's tiny unified model lives: `Sources/Scenarios/Resources/tiny-unified`
/// (`lm/` with its `tokenizer.json`, `connector/`, `dm/`, `vae/`), when the package was built with it.
public enum BundledUnifiedModel {
    /// The folder's name among the resources.
    public static let folderName = "tiny-unified"

    /// The bundled folder, or nil when this build does not ship it (or ships it without `lm/`).
    public static var directory: URL? {
        let url = Bundle.module.url(forResource: folderName, withExtension: nil, subdirectory: "Resources")
            ?? Bundle.module.url(forResource: folderName, withExtension: nil)
        guard let url, FileManager.default.fileExists(atPath: url.appendingPathComponent("lm/config.json").path) else { return nil }
        return url
    }
}
