import UniRLShapesWorld

/// How a text task's reasoning is written inside `<think>`.
public enum TextReasoningStyle: String, Sendable, Equatable, CaseIterable {
    /// One step with the result: `7+5=12` (the bundled tiny LM's stage 1).
    case short
    /// Worked step by step from single-digit facts (``WorkedArithmetic``; the text stage).
    case worked
}

/// The worked reasoning of a text task, built only from facts that every training problem
/// exercises, so that a model can execute it on operands it never saw together:
///
/// - addition, column by column from the units with the carry written as the sum's tens digit:
///   `17+15:7+5=12,1+1+1=3,32` (units 7+5=12 → write 2 carry 1; tens 1+1+carry 1 = 3; result 32);
/// - subtraction, column by column with the borrow written as a leading 1 of the minuend's
///   digit: `23-9:13-9=4,2-0-1=1,14` (3 < 9 → borrow: 13-9=4; tens 2-0-borrow 1 = 1; result 14);
/// - multiplication `a × b` as `b` running sums of `a`, each with its count:
///   `4×3:×1=4,×2=8,×3=12,12`;
/// - word problems as their operation ("erases" subtracts, "rows of" multiplies, the others add),
///   worked the same way.
///
/// Every column step shows both digits (a missing digit is 0) and the carry or borrow, even 0;
/// the last item is the result without leading zeros. The answer block repeats it.
public enum WorkedArithmetic {
    /// The operation of a two-operand text task.
    public enum Operation: String, Sendable {
        case add = "+", subtract = "-", multiply = "×"
    }

    /// The worked reasoning of `a op b` (non-negative operands; for subtraction `a ≥ b`).
    public static func reasoning(_ a: Int, _ op: Operation, _ b: Int) -> String {
        let steps: [String]
        switch op {
        case .add: steps = addition(a, b)
        case .subtract: steps = subtraction(a, b)
        case .multiply: steps = (1...max(b, 1)).map { "×\($0)=\(a * $0)" }
        }
        let result = op == .add ? a + b : op == .subtract ? a - b : a * b
        return "\(a)\(op.rawValue)\(b):" + (steps + [String(result)]).joined(separator: ",")
    }

    /// The operation and the two operands of a text task, in the question's order (the larger
    /// first for subtraction, as the generator writes it); nil when the question has fewer than two numbers.
    public static func operation(of task: TextTask) -> (Int, Operation, Int)? {
        let numbers = TinyLMTaskGenerator.integers(in: task.question)
        guard numbers.count >= 2 else { return nil }
        let op: Operation
        switch task.kind {
        case .addition: op = .add
        case .subtraction: op = .subtract
        case .multiplication: op = .multiply
        case .wordProblem: op = task.question.contains("erases") ? .subtract : task.question.contains("rows of") ? .multiply : .add
        }
        return (numbers[0], op, numbers[1])
    }

    /// The digits of `n` from the units up, padded with zeros to `count`.
    static func digits(_ n: Int, count: Int) -> [Int] {
        var n = n
        return (0..<count).map { _ in
            defer { n /= 10 }
            return n % 10
        }
    }

    static func columns(_ a: Int, _ b: Int) -> Int { max(String(a).count, String(b).count, 2) }

    /// `7+5=12`, `1+1+1=3`: the units column, then each further column with the carry in.
    static func addition(_ a: Int, _ b: Int) -> [String] {
        let n = columns(a, b)
        let x = digits(a, count: n), y = digits(b, count: n)
        var carry = 0
        return (0..<n).map { i in
            let sum = x[i] + y[i] + carry
            defer { carry = sum / 10 }
            return i == 0 ? "\(x[i])+\(y[i])=\(sum)" : "\(x[i])+\(y[i])+\(carry)=\(sum)"
        }
    }

    /// `13-9=4` (borrowed), `7-2=5`, `2-0-1=1`: the units column, then each further column
    /// with the borrow out; a borrowing column writes its minuend digit with the borrowed 10.
    static func subtraction(_ a: Int, _ b: Int) -> [String] {
        let n = columns(a, b)
        let x = digits(a, count: n), y = digits(b, count: n)
        var borrow = 0
        return (0..<n).map { i in
            let top = x[i] - (i == 0 ? 0 : borrow)
            let newBorrow = top < y[i] ? 1 : 0
            defer { borrow = newBorrow }
            if i == 0 { return "\(x[i] + 10 * newBorrow)-\(y[i])=\(top + 10 * newBorrow - y[i])" }
            let step = "\(x[i])-\(y[i])-\(borrow)"
            return newBorrow == 0 ? "\(step)=\(top - y[i])" : "1\(step)=\(top + 10 - y[i])"
        }
    }
}
