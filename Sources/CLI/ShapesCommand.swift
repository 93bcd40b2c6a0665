import ArgumentParser
import Foundation
import UniRLCore
import UniRLShapesWorld
import UniRLTensor

/// `unirl shapes …`: the bundled ShapesWorld — render prompts, score images with ShapesEval, and
/// measure the detector's robustness.
struct ShapesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "ShapesWorld: render prompts, score images with ShapesEval, measure the detector.",
        subcommands: [ShapesRender.self, ShapesEvaluate.self, ShapesRobustness.self])
}

/// A file or folder problem, reported with its path.
struct ShapesCommandError: Error, CustomStringConvertible {
    var description: String
}

/// Reads a prompt file, or the bundled evaluation set when no file is given.
private func loadPrompts(_ path: String?) throws -> [ShapesPrompt] {
    guard let path else { return try PromptGenerator.bundledEvaluationSet() }
    return try PromptFile.read(from: URL(fileURLWithPath: path))
}

struct ShapesRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a reference image for each prompt and write them as a PNG grid (and optionally one PNG each).",
        discussion: """
            Prompts come from --prompts (a JSONL prompt file) or are drawn with --category, --count and --seed.
            Prompt i's scene is drawn from seed + i, so a render is reproducible. With --dir, image i is written
            as <dir>/<i>.png, the layout `unirl shapes eval --images` reads; --dir without --prompts, --count or
            --category renders the bundled evaluation set, the one `unirl shapes eval` scores by default.
            """)

    /// The most images one render holds (the grid keeps them all in memory).
    static let maximumCount = 100_000

    @Option(help: "A JSONL prompt file (GenEval metadata format). Default: draw prompts.") var prompts: String?
    @Option(help: "Category of drawn prompts: single_object, two_object, counting, colors, position, color_attr, or all.")
    var category = "all"
    @Option(help: "Number of prompts to draw (without --prompts), or the most to render from a file.") var count: Int?
    @Option(help: "Seed for drawn prompts and for the scenes.") var seed: UInt64 = 0
    @Option(help: "Draw prompts from this side of the train/evaluation partition: train or evaluation.") var split = "train"
    @Option(help: "Image side in pixels: 32 or 64.") var size = 32
    @Option(help: "Where to write the PNG grid.") var output = "shapes_grid.png"
    @Option(help: "Also write one PNG per prompt into this folder, named by prompt index.") var dir: String?
    @Option(help: "Columns of the grid (default: about the square root of the number of images).") var columns: Int?

    func validate() throws {
        guard size == 32 || size == 64 else { throw ValidationError("--size must be 32 or 64, got \(size)") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let count, count > Self.maximumCount {
            let bytes = Double(count) * Double(size * size * 3) * 2
            throw ValidationError(
                "--count \(count): the images and their grid would need \(formatBytes(bytes)) of memory; "
                    + "render at most \(Self.maximumCount) at once")
        }
        if let columns, columns < 1 { throw ValidationError("--columns must be at least 1") }
        guard category == "all" || PromptCategory(rawValue: category) != nil else {
            let known = PromptCategory.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown --category '\(category)' (expected all, \(known))")
        }
        guard PromptSplit(rawValue: split) != nil else { throw ValidationError("--split must be train or evaluation, got '\(split)'") }
        if prompts != nil && category != "all" { throw ValidationError("--category draws prompts; it cannot be combined with --prompts") }
    }

    func run() throws {
        let list: [ShapesPrompt]
        if let path = prompts {
            let all = try PromptFile.read(from: URL(fileURLWithPath: path))
            list = Array(all.prefix(count ?? all.count))
        } else if dir != nil && count == nil && category == "all" {
            list = try PromptGenerator.bundledEvaluationSet()
            print("rendering the bundled evaluation set (\(list.count) prompts), as `unirl shapes eval` scores it")
        } else {
            let categories = PromptCategory(rawValue: category).map { [$0] } ?? PromptCategory.allCases
            list = PromptGenerator().prompts(
                count: count ?? 12, categories: categories,
                split: PromptSplit(rawValue: split) ?? .train, seed: seed
            ).map(\.prompt)
        }
        let renderer = SceneRenderer(size: size)
        var images: [RGBImage] = []
        for (i, prompt) in list.enumerated() {
            var rng = RandomState(seed: seed &+ UInt64(i))
            let scene: UniRLShapesWorld.Scene
            do { scene = try Scene.sample(satisfying: prompt, using: &rng) } catch {
                throw ShapesCommandError(description: "prompt \(i): \(error)")
            }
            images.append(renderer.render(scene))
            print("\(i)\t\(prompt.category.rawValue)\t\(prompt.caption)")
        }
        if let dir {
            let folder = URL(fileURLWithPath: dir)
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), !isFolder.boolValue {
                throw ShapesCommandError(description: "cannot create the folder \(dir): it exists and is a file")
            }
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw ShapesCommandError(description: "cannot create the folder \(dir): \(FileSystemError.describe(error))")
            }
            for (i, image) in images.enumerated() { try image.writePNG(to: folder.appendingPathComponent("\(i).png")) }
        }
        try ImageGrid.tile(images, columns: columns).writePNG(to: URL(fileURLWithPath: output))
        print("wrote \(images.count) images to \(output)" + (dir.map { " and \($0)/" } ?? ""))
    }
}

struct ShapesEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a folder of PNGs against a prompt file with ShapesEval and print GenEval's table.",
        discussion: """
            Image files are named by prompt index: <i>.png (zero padding allowed, e.g. 00012.png), or <i>_<k>.png
            for several samples of prompt i. Other files are skipped with a warning; prompts without an image are
            left out of the table and counted in a warning.
            """)

    @Option(help: "The JSONL prompt file the images were generated from. Default: the bundled evaluation set.") var prompts: String?
    @Option(help: "The folder of PNG images.") var images: String
    @Flag(help: "Print the report as JSON (per image, per category and overall).") var json = false

    func run() throws {
        let list = try loadPrompts(prompts)
        let folder = URL(fileURLWithPath: images)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() } catch {
            throw ShapesCommandError(description: "cannot read the image folder \(images): \(error.localizedDescription)")
        }
        var entries: [(index: Int, sample: Int, url: URL)] = []
        var skipped: [String] = []
        for name in names where name.lowercased().hasSuffix(".png") {
            let stem = name.dropLast(4).split(separator: "_", omittingEmptySubsequences: false)
            guard (1...2).contains(stem.count), let index = Int(stem[0]), index >= 0,
                let sample = stem.count == 2 ? Int(stem[1]) : 0
            else {
                skipped.append(name)
                continue
            }
            guard index < list.count else {
                throw ShapesCommandError(
                    description: "\(folder.appendingPathComponent(name).path): prompt index \(index) is out of "
                        + "range; the prompt file has \(list.count) prompts")
            }
            entries.append((index, sample, folder.appendingPathComponent(name)))
        }
        entries.sort { ($0.index, $0.sample) < ($1.index, $1.sample) }
        guard !entries.isEmpty else {
            throw ShapesCommandError(description: "no images named <prompt index>.png in \(images)")
        }
        let report = try Self.score(entries: entries, prompts: list)
        let stderr = FileHandle.standardError
        var warnings: [String] = []
        if !skipped.isEmpty {
            let names = skipped.prefix(5).joined(separator: ", ") + (skipped.count > 5 ? ", …" : "")
            warnings.append("warning: skipped \(skipped.count) PNG file(s) not named by a prompt index: \(names)")
        }
        let missing = list.count - Set(entries.map(\.index)).count
        if missing > 0 {
            warnings.append("warning: \(missing) of \(list.count) prompts have no image and are left out of this score")
        }
        for w in warnings { stderr.write(Data((w + "\n").utf8)) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table())
            for w in warnings { print(w) }
        }
    }

    /// How many images are decoded at once: memory stays bounded by a few chunks of images,
    /// whatever the size of the folder, while the detector still gets a batch to spread over cores.
    static let chunkSize = 64

    /// Decodes and scores the images a chunk at a time (streaming: one chunk in memory at once).
    static func score(entries: [(index: Int, sample: Int, url: URL)], prompts: [ShapesPrompt]) throws -> ShapesEvalReport {
        let eval = ShapesEval()
        var results: [ShapesEvalReport.ImageResult] = []
        results.reserveCapacity(entries.count)
        var start = 0
        while start < entries.count {
            let chunk = entries[start..<min(start + chunkSize, entries.count)]
            let images: [RGBImage] = try chunk.map { entry in
                do { return try RGBImage(contentsOfPNG: entry.url) } catch {
                    throw ShapesCommandError(description: "cannot read image \(entry.url.path): \(error)")
                }
            }
            let part = eval.evaluate(prompts: chunk.map { prompts[$0.index] }, images: images, promptIndices: chunk.map(\.index))
            results += part.results
            start += chunkSize
        }
        return ShapesEvalReport(results: results)
    }
}

struct ShapesRobustness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robustness",
        abstract: "Measure the ShapesEval detector on blurred, noisy and JPEG-compressed renders (a Markdown table).")

    @Option(help: "Image side in pixels: 32 or 64.") var size = 32
    @Option(help: "Random scenes per corruption.") var scenes = 1000
    @Option(help: "Seed for scenes and noise.") var seed: UInt64 = 0
    @Flag(help: "Print JSON instead of Markdown.") var json = false

    func validate() throws {
        guard size == 32 || size == 64 else { throw ValidationError("--size must be 32 or 64, got \(size)") }
        guard scenes >= 1 else { throw ValidationError("--scenes must be at least 1") }
    }

    func run() throws {
        let report = try ShapesEval().robustnessReport(sceneCount: scenes, imageSize: size, seed: seed)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.markdownTable())
        }
    }
}
