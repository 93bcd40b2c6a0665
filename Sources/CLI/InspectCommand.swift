import ArgumentParser
import Foundation
import UniRLExperts

/// `unirl inspect --preset NAME`: a declared real-scale configuration's parameters per part and
/// in total, computed from names and shapes without allocating the model.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a declared model's parameter counts (per part and total) without allocating it.")

    @Option(help: "The preset: \(UnifiedPreset.named.keys.sorted().joined(separator: ", ")).") var preset: String
    @Flag(help: "Also list every tensor's name and shape.") var tensors = false

    func run() throws {
        guard let p = UnifiedPreset.named[preset] else {
            throw ValidationError("unknown preset '\(preset)' (known: \(UnifiedPreset.named.keys.sorted().joined(separator: ", ")))")
        }
        let (parts, total) = try p.parameterCounts()
        let shapes = try p.parameterShapes()
        print("\(preset): \(shapes.count) tensors")
        let labels = [
            "lm": "LM (Qwen2.5-VL, vision tower included)", "connector": "connector + meta-queries",
            "dm": "DiT (SANA\(p.referencePath ? ", reference path" : ""))", "vae": "DC-AE",
        ]
        func row(_ label: String, _ count: Int) {
            let number = grouped(count)
            print(
                "  " + label.padding(toLength: 44, withPad: " ", startingAt: 0) + String(repeating: " ", count: max(0, 15 - number.count))
                    + number)
        }
        for (name, count) in parts { row(labels[name] ?? name, count) }
        row("total", total)
        if tensors { for name in shapes.keys.sorted() { print("\(name) \(shapes[name]!)") } }
    }

    func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        return String(digits.enumerated().flatMap { i, d in (i > 0 && (digits.count - i) % 3 == 0 ? [","] : []) + [d] })
    }
}
