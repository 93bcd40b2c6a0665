import Foundation
import Testing
import UniRLTestSupport

/// The block fixtures of the experts' layers, Tests/Fixtures/blocks/<name> (scripts/make_tensor_fixtures.py).
enum ExpertBlockFixtures {
    static func fixture(_ name: String) throws -> BlockFixture {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try BlockFixture(root.appendingPathComponent("Fixtures/blocks/\(name)"))
    }

    static func expectPassed(_ r: BlockFixture.Result) {
        print(r.summary)
        #expect(r.outputPassed, "output differs by \(r.outputRelative) of max|ref|")
        #expect(r.gradientFailures.isEmpty, "gradients differ: \(r.gradientFailures)")
        #expect(r.referenceGradients == r.expectedGradients, "fixture should hold a gradient for every parameter and the input")
    }
}
