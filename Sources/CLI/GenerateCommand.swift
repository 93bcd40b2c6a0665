import ArgumentParser
import Foundation
import UniRLCore
import UniRLExperts
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// `unirl generate`: renders a GenEval-format JSONL prompt file with a unified model, writing
/// `<output>/<i>.png` (or `<i>_<k>.png` with several samples) so that `unirl shapes eval --images`
/// scores the folder; with `--edit`, edits `<source>/<i>.png` by each prompt instead.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Render (or edit) images for a JSONL prompt file with a unified model.",
        discussion: """
            The prompt file is the GenEval metadata format `unirl shapes eval` reads. Images are written as \
            <output>/<i>.png, or <output>/<i>_<k>.png for --samples K > 1. The checkpoint is a unified model folder \
            (lm/ with tokenizer.json, connector/, dm/, vae/) or an official UniRL-Zero checkpoint; by default the \
            bundled tiny model (Sources/Scenarios/Resources/tiny-unified).
            """)

    @Option(help: "The JSONL prompt file (GenEval metadata format).") var prompts: String
    @Option(help: "A unified model folder. Default: the bundled tiny model.") var checkpoint: String?
    @Option(help: "Images per prompt.") var samples = 1
    @Option(help: "Seed of the initial noise.") var seed: UInt64 = 0
    @Option(help: "Euler steps.") var steps = 20
    @Option(help: "Classifier-free guidance scale (text).") var guidance: Float = 3
    @Option(help: "Reference guidance scale when editing.") var referenceGuidance: Float = 1
    @Option(help: "Edit the images <dir>/<i>.png by each prompt instead of generating from noise.") var edit: String?
    @Option(help: "Where to write the PNG images.") var output: String

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be ≥ 1") }
    }

    func run() throws {
        let entries = try PromptFile.read(from: URL(fileURLWithPath: prompts))
        guard !entries.isEmpty else { throw GenerateCommandError("the prompt file \(prompts) holds no prompts") }
        let generator = try UnifiedImageGenerator(directory: try checkpointDirectory())
        let settings = UnifiedGenerationSettings(steps: steps, guidanceScale: guidance, referenceGuidanceScale: referenceGuidance,
                                                 samples: samples, seed: seed)
        let total = entries.count * samples
        let bar = ProgressBar(total: total, keys: [])
        let progress: (Int) -> Void = { bar.update(step: $0) }
        let images: [[RGBImage]]
        if let edit {
            let folder = URL(fileURLWithPath: edit)
            let sources = try entries.indices.map { i -> RGBImage in
                let url = folder.appendingPathComponent("\(i).png")
                do { return try RGBImage(contentsOfPNG: url) } catch {
                    throw GenerateCommandError("cannot read the source image \(url.path): \(error)")
                }
            }
            images = try generator.edit(instructions: entries.map(\.caption), sources: sources, settings: settings, progress: progress)
        } else {
            images = try generator.generate(captions: entries.map(\.caption), settings: settings, progress: progress)
        }
        bar.finish()
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for (i, row) in images.enumerated() {
            for (k, image) in row.enumerated() {
                try image.writePNG(to: out.appendingPathComponent(samples == 1 ? "\(i).png" : "\(i)_\(k).png"))
            }
        }
        print("wrote \(total) images to \(output); score them with `unirl shapes eval --prompts \(prompts) --images \(output)`")
    }

    func checkpointDirectory() throws -> URL {
        if let checkpoint {
            let url = URL(fileURLWithPath: checkpoint)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw GenerateCommandError("the checkpoint folder \(checkpoint) does not exist")
            }
            return url
        }
        guard let bundled = BundledUnifiedModel.directory else {
            throw GenerateCommandError("""
                no --checkpoint given and this build has no bundled tiny unified model \
                (Sources/Scenarios/Resources/\(BundledUnifiedModel.folderName) with lm/, connector/, dm/, vae/); \
                pass --checkpoint <unified model folder>
                """)
        }
        return bundled
    }
}

struct GenerateCommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
