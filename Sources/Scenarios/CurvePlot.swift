import Foundation
import UniRLTensor

/// A line chart drawn into an ``RGBImage`` (and saved as PNG) without any plotting library: axes
/// with five labelled ticks each, light grid lines, one polyline per series and a legend. Text is
/// a built-in 3 × 5 pixel font (upper case, digits and a few signs), scaled up.
///
/// ```swift
/// var plot = CurvePlot(title: "reward", xLabel: "step", yLabel: "reward")
/// plot.add(CurvePlot.Series(name: "batch mean", values: rewards, color: (160, 160, 160)))
/// plot.add(CurvePlot.Series(name: "moving average", values: CurvePlot.movingAverage(rewards, window: 10)))
/// try plot.writePNG(to: URL(fileURLWithPath: "reward.png"))
/// ```
public struct CurvePlot: Sendable {
    /// One line: y values at x = 1, 2, … (or at the given x values).
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: (r: UInt8, g: UInt8, b: UInt8)
        /// Line thickness in pixels.
        public var lineWidth: Int

        public init(name: String, points: [(x: Double, y: Double)], color: (r: UInt8, g: UInt8, b: UInt8) = (31, 119, 180),
                    lineWidth: Int = 2) {
            self.name = name
            self.points = points.filter { $0.x.isFinite && $0.y.isFinite }
            self.color = color
            self.lineWidth = lineWidth
        }

        /// y values at x = 1, 2, …, n.
        public init(name: String, values: [Double], color: (r: UInt8, g: UInt8, b: UInt8) = (31, 119, 180), lineWidth: Int = 2) {
            self.init(name: name, points: values.enumerated().map { (Double($0.offset + 1), $0.element) }, color: color,
                      lineWidth: lineWidth)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var width: Int
    public var height: Int
    public private(set) var series: [Series] = []

    public init(title: String, xLabel: String = "step", yLabel: String = "", width: Int = 560, height: Int = 340) {
        precondition(width >= 200 && height >= 150, "a plot needs at least 200 × 150 pixels")
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.width = width
        self.height = height
    }

    public mutating func add(_ s: Series) { series.append(s) }

    /// The trailing mean of up to `window` values at each position.
    public static func movingAverage(_ values: [Double], window: Int) -> [Double] {
        var out: [Double] = [], sum = 0.0
        for (i, v) in values.enumerated() {
            sum += v
            if i >= window { sum -= values[i - window] }
            out.append(sum / Double(Swift.min(i + 1, window)))
        }
        return out
    }

    public func writePNG(to url: URL) throws { try render().writePNG(to: url) }

    // MARK: Drawing

    static let scale = 2
    static let axisColor: (r: UInt8, g: UInt8, b: UInt8) = (60, 60, 60)
    static let gridColor: (r: UInt8, g: UInt8, b: UInt8) = (228, 228, 228)

    /// The chart as an image.
    public func render() -> RGBImage {
        var canvas = Canvas(image: RGBImage(width: width, height: height, fill: (255, 255, 255)))
        let left = 16 + Self.textWidth("-00.000"), right = width - 16, top = 34, bottom = height - 44
        canvas.text(title.uppercased(), x: (width - Self.textWidth(title)) / 2, y: 10, color: (0, 0, 0))
        canvas.text(xLabel.uppercased(), x: (left + right - Self.textWidth(xLabel)) / 2, y: height - 16, color: Self.axisColor)
        canvas.text(yLabel.uppercased(), x: 8, y: 10, color: Self.axisColor)

        let all = series.flatMap(\.points)
        guard let xs = Self.range(all.map(\.x)), var ys = Self.range(all.map(\.y)) else {
            canvas.rectangle(x0: left, y0: top, x1: right, y1: bottom, color: Self.axisColor)
            return canvas.image
        }
        let pad = (ys.upper - ys.lower) * 0.05
        ys = (ys.lower - pad, ys.upper + pad)
        func px(_ x: Double) -> Double { Double(left) + (x - xs.lower) / (xs.upper - xs.lower) * Double(right - left) }
        func py(_ y: Double) -> Double { Double(bottom) - (y - ys.lower) / (ys.upper - ys.lower) * Double(bottom - top) }

        let xTicks = Self.ticks(xs.lower, xs.upper, integral: all.allSatisfy { $0.x == $0.x.rounded() })
        let yTicks = Self.ticks(ys.lower, ys.upper, integral: false)
        for fx in xTicks.values {
            let gx = Int(px(fx).rounded()), label = Self.format(fx, decimals: xTicks.decimals)
            canvas.line(from: (Double(gx), Double(top)), to: (Double(gx), Double(bottom)), color: Self.gridColor, width: 1)
            canvas.text(label, x: gx - Self.textWidth(label) / 2, y: bottom + 8, color: Self.axisColor)
        }
        for fy in yTicks.values {
            let gy = Int(py(fy).rounded()), label = Self.format(fy, decimals: yTicks.decimals)
            canvas.line(from: (Double(left), Double(gy)), to: (Double(right), Double(gy)), color: Self.gridColor, width: 1)
            canvas.text(label, x: left - 8 - Self.textWidth(label), y: gy - 5, color: Self.axisColor)
        }
        canvas.rectangle(x0: left, y0: top, x1: right, y1: bottom, color: Self.axisColor)
        for s in series {
            for (a, b) in zip(s.points, s.points.dropFirst()) {
                canvas.line(from: (px(a.x), py(a.y)), to: (px(b.x), py(b.y)), color: s.color, width: s.lineWidth)
            }
            if s.points.count == 1, let p = s.points.first {
                canvas.line(from: (px(p.x), py(p.y)), to: (px(p.x), py(p.y)), color: s.color, width: s.lineWidth + 2)
            }
        }
        // Legend, top left inside the plot.
        for (i, s) in series.enumerated() {
            let y = top + 8 + i * 16
            canvas.fill(x0: left + 6, y0: y - 2, x1: left + 18 + Self.textWidth(s.name) + 10, y1: y + 12, color: (255, 255, 255))
            canvas.line(from: (Double(left + 8), Double(y + 5)), to: (Double(left + 22), Double(y + 5)), color: s.color, width: 3)
            canvas.text(s.name.uppercased(), x: left + 28, y: y, color: (0, 0, 0))
        }
        return canvas.image
    }

    /// (min, max) of finite values, widened when they are equal; nil when there are none.
    static func range(_ values: [Double]) -> (lower: Double, upper: Double)? {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return nil }
        if hi > lo { return (lo, hi) }
        let d = Swift.max(Swift.abs(lo) * 0.1, 1e-3)
        return (lo - d, hi + d)
    }

    /// "Nice" tick values in [lower, upper] (steps of 1, 2, 2.5 or 5 × 10^k, about five of them;
    /// whole numbers only when `integral`) and the decimals their labels need.
    static func ticks(_ lower: Double, _ upper: Double, integral: Bool) -> (values: [Double], decimals: Int) {
        let span = upper - lower
        let magnitude = Foundation.pow(10, (Foundation.log10(span / 5)).rounded(.down))
        // The round step whose tick count comes closest to five.
        var step = [1, 2, 2.5, 5, 10, 20].map { $0 * magnitude }.min { abs(span / $0 - 5) < abs(span / $1 - 5) } ?? magnitude
        if integral { step = Swift.max(1, step.rounded(.up)) }
        let first = (lower / step).rounded(.up) * step
        let values = Swift.stride(from: first, through: upper + step * 1e-9, by: step).map { $0 }
        let decimals = Swift.max(0, Int((-Foundation.log10(step)).rounded(.up)) + (step / magnitude == 2.5 ? 1 : 0))
        return (values, Swift.min(decimals, 6))
    }

    /// A tick label with `decimals` digits after the point (scientific for huge or tiny values).
    static func format(_ v: Double, decimals: Int) -> String {
        let a = Swift.abs(v)
        if a >= 1e6 || (a != 0 && a < 1e-4) { return String(format: "%.2E", v) }
        let s = String(format: "%.\(decimals)f", v)
        return s.hasPrefix("-") && s.dropFirst().allSatisfy { $0 == "0" || $0 == "." } ? String(s.dropFirst()) : s
    }

    static func textWidth(_ s: String) -> Int { s.count * 4 * scale }

    /// Pixel drawing on an image, clipped to its bounds.
    struct Canvas {
        var image: RGBImage

        mutating func dot(_ x: Int, _ y: Int, _ color: (r: UInt8, g: UInt8, b: UInt8)) {
            guard x >= 0, y >= 0, x < image.width, y < image.height else { return }
            image[x, y] = color
        }

        mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, color: (r: UInt8, g: UInt8, b: UInt8)) {
            guard x0 <= x1, y0 <= y1 else { return }
            for y in y0...y1 { for x in x0...x1 { dot(x, y, color) } }
        }

        mutating func rectangle(x0: Int, y0: Int, x1: Int, y1: Int, color: (r: UInt8, g: UInt8, b: UInt8)) {
            line(from: (Double(x0), Double(y0)), to: (Double(x1), Double(y0)), color: color, width: 1)
            line(from: (Double(x0), Double(y1)), to: (Double(x1), Double(y1)), color: color, width: 1)
            line(from: (Double(x0), Double(y0)), to: (Double(x0), Double(y1)), color: color, width: 1)
            line(from: (Double(x1), Double(y0)), to: (Double(x1), Double(y1)), color: color, width: 1)
        }

        /// A segment stamped with a width × width square every half pixel.
        mutating func line(from a: (Double, Double), to b: (Double, Double), color: (r: UInt8, g: UInt8, b: UInt8), width: Int) {
            let length = ((b.0 - a.0) * (b.0 - a.0) + (b.1 - a.1) * (b.1 - a.1)).squareRoot()
            let n = Swift.max(1, Int((length * 2).rounded(.up)))
            let lo = -(width - 1) / 2, hi = width / 2
            for i in 0...n {
                let t = Double(i) / Double(n)
                let x = Int((a.0 + (b.0 - a.0) * t).rounded()), y = Int((a.1 + (b.1 - a.1) * t).rounded())
                for dy in lo...hi { for dx in lo...hi { dot(x + dx, y + dy, color) } }
            }
        }

        /// Upper-cased text in the 3 × 5 font, each font pixel a scale × scale square.
        mutating func text(_ s: String, x: Int, y: Int, color: (r: UInt8, g: UInt8, b: UInt8)) {
            let k = CurvePlot.scale
            for (i, ch) in s.uppercased().enumerated() {
                guard let rows = CurvePlot.glyphs[ch] else { continue }
                for (r, row) in rows.enumerated() {
                    for (c, bit) in row.enumerated() where bit == "1" {
                        let x0 = x + i * 4 * k + c * k, y0 = y + r * k
                        fill(x0: x0, y0: y0, x1: x0 + k - 1, y1: y0 + k - 1, color: color)
                    }
                }
            }
        }
    }

    /// A 3 × 5 pixel font: five rows of three columns per character.
    static let glyphs: [Character: [String]] = {
        let table: [(Character, String)] = [
            ("0", "111 101 101 101 111"), ("1", "010 110 010 010 111"), ("2", "111 001 111 100 111"),
            ("3", "111 001 111 001 111"), ("4", "101 101 111 001 001"), ("5", "111 100 111 001 111"),
            ("6", "111 100 111 101 111"), ("7", "111 001 001 010 010"), ("8", "111 101 111 101 111"),
            ("9", "111 101 111 001 111"), ("A", "010 101 111 101 101"), ("B", "110 101 110 101 110"),
            ("C", "011 100 100 100 011"), ("D", "110 101 101 101 110"), ("E", "111 100 110 100 111"),
            ("F", "111 100 110 100 100"), ("G", "011 100 101 101 011"), ("H", "101 101 111 101 101"),
            ("I", "111 010 010 010 111"), ("J", "001 001 001 101 010"), ("K", "101 101 110 101 101"),
            ("L", "100 100 100 100 111"), ("M", "101 111 111 101 101"), ("N", "110 101 101 101 101"),
            ("O", "010 101 101 101 010"), ("P", "110 101 110 100 100"), ("Q", "010 101 101 110 011"),
            ("R", "110 101 110 101 101"), ("S", "011 100 010 001 110"), ("T", "111 010 010 010 010"),
            ("U", "101 101 101 101 111"), ("V", "101 101 101 101 010"), ("W", "101 101 111 111 101"),
            ("X", "101 101 010 101 101"), ("Y", "101 101 010 010 010"), ("Z", "111 001 010 100 111"),
            (".", "000 000 000 000 010"), ("-", "000 000 111 000 000"), ("+", "000 010 111 010 000"),
            (":", "000 010 000 010 000"), ("/", "001 001 010 100 100"), ("(", "010 100 100 100 010"),
            (")", "010 001 001 001 010"), ("%", "101 001 010 100 101"), ("_", "000 000 000 000 111"),
            (",", "000 000 000 010 100"), ("=", "000 111 000 111 000"), ("→", "010 001 111 001 010"),
            (" ", "000 000 000 000 000"),
        ]
        return Dictionary(uniqueKeysWithValues: table.map { ($0.0, $0.1.split(separator: " ").map(String.init)) })
    }()
}
