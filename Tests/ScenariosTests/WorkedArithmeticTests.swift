import Foundation
import Testing
import UniRLScenarios
import UniRLShapesWorld
import UniRLTensor

/// The worked text reasoning of the text stage (``WorkedArithmetic``) and its bundle.
@Suite struct WorkedArithmeticTests {
    @Test func knownProblemsAreWorkedExactly() {
        #expect(WorkedArithmetic.reasoning(17, .add, 15) == "17+15:7+5=12,1+1+1=3,32")  // carry
        #expect(WorkedArithmetic.reasoning(7, .add, 5) == "7+5:7+5=12,0+0+1=1,12")
        #expect(WorkedArithmetic.reasoning(3, .add, 4) == "3+4:3+4=7,0+0+0=0,7")  // no carry, no tens
        #expect(WorkedArithmetic.reasoning(20, .add, 20) == "20+20:0+0=0,2+2+0=4,40")
        #expect(WorkedArithmetic.reasoning(23, .subtract, 9) == "23-9:13-9=4,2-0-1=1,14")  // borrow
        #expect(WorkedArithmetic.reasoning(15, .subtract, 3) == "15-3:5-3=2,1-0-0=1,12")
        #expect(WorkedArithmetic.reasoning(12, .subtract, 12) == "12-12:2-2=0,1-1-0=0,0")  // zero result
        #expect(WorkedArithmetic.reasoning(20, .subtract, 13) == "20-13:10-3=7,2-1-1=0,7")  // borrow to a zero tens
        #expect(WorkedArithmetic.reasoning(4, .multiply, 3) == "4×3:×1=4,×2=8,×3=12,12")
        #expect(WorkedArithmetic.reasoning(9, .multiply, 1) == "9×1:×1=9,9")
        // Beyond the generator's range the columns go on (a middle borrow, a final carry).
        #expect(WorkedArithmetic.reasoning(105, .subtract, 17) == "105-17:15-7=8,10-1-1=8,1-0-1=0,88")
        #expect(WorkedArithmetic.reasoning(95, .add, 7) == "95+7:5+7=12,9+0+1=10,102")
    }

    @Test func wordProblemsAreWorkedByTheirOperation() {
        let erase = TextTask(
            question: "There are 9 red circles on a page. Ada erases 4 of them. How many are left?", answer: 5, kind: .wordProblem)
        #expect(TinyLMTaskGenerator.reasoning(for: erase, style: .worked) == "9-4:9-4=5,0-0-0=0,5")
        let rows = TextTask(question: "Ben draws 3 rows of 2 blue squares. How many blue squares is that?", answer: 6, kind: .wordProblem)
        #expect(TinyLMTaskGenerator.reasoning(for: rows, style: .worked) == "3×2:×1=3,×2=6,6")
        #expect(TinyLMTaskGenerator.reasoning(for: erase, style: .short) == "9-4=5")
    }

    /// Random tasks of every kind: each step's arithmetic holds, carries and borrows chain, and the
    /// last item is the answer; the supervised completion is right; carries, borrows and zero
    /// results all occur.
    @Test func randomTasksAreWorkedCorrectly() throws {
        var rng = RandomState(seed: 11)
        let generator = TinyLMTaskGenerator(textReasoning: .worked)
        var seen: Set<String> = []
        for i in 0..<400 {
            let task = generator.task(.text, split: i % 2 == 0 ? .train : .evaluation, using: &rng)
            let completion = try #require(task.completion)
            #expect(task.isCorrect(completion), "\(task.prompt) \(completion)")
            let reasoning = try #require(TinyLMFormat.parse(completion)?.reasoning)
            let head = try #require(reasoning.split(separator: ":", maxSplits: 1).first)
            let items = reasoning.dropFirst(head.count + 1).split(separator: ",").map(String.init)
            #expect(items.last == task.answer, "\(reasoning)")
            let numbers = head.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            try #require(numbers.count == 2)
            let (a, b) = (numbers[0], numbers[1])
            if head.contains("×") {
                #expect(items.dropLast() == (1...b).map { "×\($0)=\(a * $0)" }[...], "\(reasoning)")
                seen.insert("multiply")
                continue
            }
            // Column steps: "x+y=s" / "x+y+c=s" or "x-y=s" / "x-y-b=s", a borrowing column's minuend with a leading 1.
            var carry = 0, value = 0, scale = 1
            let subtract = head.contains("-")
            for (column, step) in items.dropLast().enumerated() {
                let sides = step.split(separator: "=")
                let terms = sides[0].split(whereSeparator: { $0 == "+" || $0 == "-" }).compactMap { Int($0) }
                let result = try #require(Int(sides[1]))
                let digitA = (a / scale) % 10, digitB = (b / scale) % 10
                if subtract {
                    let borrowed = terms[0] >= 10
                    #expect(terms[0] == digitA + (borrowed ? 10 : 0) && terms[1] == digitB, "\(reasoning)")
                    #expect(column == 0 ? terms.count == 2 : terms[2] == carry, "\(reasoning)")
                    #expect(result == terms[0] - terms[1] - (column == 0 ? 0 : carry) && result >= 0 && result <= 9, "\(reasoning)")
                    if borrowed { seen.insert("borrow") }
                    carry = borrowed ? 1 : 0
                    value += result * scale
                } else {
                    #expect(terms[0] == digitA && terms[1] == digitB, "\(reasoning)")
                    #expect(column == 0 ? terms.count == 2 : terms[2] == carry, "\(reasoning)")
                    #expect(result == terms.reduce(0, +), "\(reasoning)")
                    if result >= 10 { seen.insert("carry") }
                    carry = result / 10
                    value += (result % 10) * scale
                }
                scale *= 10
            }
            value += carry * scale
            #expect(String(value) == task.answer, "\(reasoning)")
            if task.answer == "0" { seen.insert("zero") }
        }
        #expect(seen == ["multiply", "borrow", "carry", "zero"])
    }

    /// The text stage's extended questions (operands up to 99) keep the split: every training
    /// question hashes to the training side and none is a held-out question; a share of 0 draws
    /// exactly what the plain generator draws.
    @Test func extendedOperandsKeepTheSplit() throws {
        let heldOut = Set(TinyLMPretraining(settings: TinyLMPretrainingSettings()).heldOutTasks().map(\.prompt))
        var rng = RandomState(seed: 5)
        let generator = TinyLMTaskGenerator(textReasoning: .worked, extendedTextShare: 0.5)
        var largest = 0
        for _ in 0..<600 {
            let task = generator.task(.text, split: .train, using: &rng)
            #expect(PromptSplit.of(caption: task.prompt) == .train && !heldOut.contains(task.prompt), "\(task.prompt)")
            #expect(task.isCorrect(try #require(task.completion)), "\(task.prompt)")
            largest = max(largest, task.prompt.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.max() ?? 0)
        }
        #expect(largest > 20)
        var a = RandomState(seed: 9), b = RandomState(seed: 9)
        let plain = TinyLMTaskGenerator(), none = TinyLMTaskGenerator(extendedTextShare: 0)
        for _ in 0..<50 { #expect(plain.task(.text, split: .train, using: &a).prompt == none.task(.text, split: .train, using: &b).prompt) }
    }

    /// The text stage's bundle loads with the bundled LM's tokenizer and shapes.
    @Test func textStageBundleLoads() throws {
        let text = try #require(TinyLM.bundledTextDirectory)
        let lm = try TinyLM.load(from: text), base = try TinyLM.load()
        #expect(lm.model.configuration == base.model.configuration)
        #expect(lm.tokenizer.bpe.vocabularySize == base.tokenizer.bpe.vocabularySize)
        for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            let a = try Data(readingFileAt: text.appendingPathComponent(name))
            let b = try Data(readingFileAt: try #require(TinyLM.bundledDirectory).appendingPathComponent(name))
            #expect(a == b, "\(name)")
        }
    }
}
