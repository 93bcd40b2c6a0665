import Foundation
import Testing
import UniRLTensor

/// The parity runner (`swift test --filter Parity`): every case folder against the reference
/// implementation's outputs and gradients. A kind it does not know fails loudly.
@Suite struct ParityTests {
    /// Runners by `case.json` kind; each model family registers its own.
    static let runners: [String: ParityRunner] = ParityKinds.all

    @Test func everyParityCaseMatchesItsReference() throws {
        let cases = ParityCase.discover()
        var failures: [String] = []
        for url in cases {
            let line: String
            do {
                let c = try ParityCase(directory: url)
                guard let runner = Self.runners[c.settings.kind] else {
                    line = "\(c.name) FAIL unknown kind '\(c.settings.kind)' (known: \(Self.runners.keys.sorted().joined(separator: ", ")))"
                    failures.append(line); print(line); continue
                }
                let outcome = try c.evaluate(runner)
                let grads = outcome.worstGradient.map { String(format: " gradients %.3g", $0) } ?? ""
                let detail = outcome.detail.isEmpty ? "" : " — " + outcome.detail
                line = "\(c.name) \(outcome.passed ? "ok" : "FAIL") outputs \(String(format: "%.3g", outcome.worstOutput))\(grads)\(detail)"
                if !outcome.passed { failures.append(line) }
            } catch {
                line = "\(url.lastPathComponent) FAIL \(error)"
                failures.append(line)
            }
            print(line)
        }
        print("parity: \(cases.count - failures.count) of \(cases.count) cases ok")
        #expect(failures.isEmpty, Comment(rawValue: "\(failures.count) parity case(s) failed:\n" + failures.joined(separator: "\n")))
    }
}
