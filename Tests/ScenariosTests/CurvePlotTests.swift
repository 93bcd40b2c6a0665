import Foundation
import Testing
import UniRLTensor
@testable import UniRLScenarios

/// The reward-curve chart: size, where the lines land, the moving average, tick labels.
@Suite struct CurvePlotTests {
    @Test func drawsEachSeriesInItsColour() throws {
        var plot = CurvePlot(title: "reward", xLabel: "step", yLabel: "kB", width: 300, height: 200)
        plot.add(CurvePlot.Series(name: "rising", values: (0..<20).map(Double.init), color: (255, 0, 0)))
        plot.add(CurvePlot.Series(name: "flat", values: [Double](repeating: 5, count: 20), color: (0, 0, 255)))
        let image = plot.render()
        #expect(image.width == 300 && image.height == 200)
        var red: [(Int, Int)] = [], blue = 0
        for y in 0..<200 { for x in 0..<300 {
            let p = image[x, y]
            if p == (255, 0, 0) { red.append((x, y)) }
            if p == (0, 0, 255) { blue += 1 }
        } }
        #expect(red.count > 100 && blue > 100)
        // The rising line goes from the bottom left to the top right (legend swatches aside).
        let plotted = red.filter { $0.1 > 80 || $0.0 > 150 }
        let leftmost = try #require(plotted.min { $0.0 < $1.0 }), rightmost = try #require(plotted.max { $0.0 < $1.0 })
        #expect(leftmost.1 > rightmost.1)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("curve-\(UUID()).png")
        defer { try? FileManager.default.removeItem(at: url) }
        try plot.writePNG(to: url)
        #expect(try RGBImage(contentsOfPNG: url) == image)
    }

    @Test func ticksAreRoundNumbers() {
        let steps = CurvePlot.ticks(1, 100, integral: true)
        #expect(steps.values == [20, 40, 60, 80, 100] && steps.decimals == 0)
        let rewards = CurvePlot.ticks(-1.09, -0.898, integral: false)
        #expect(rewards.values.count == 4 && abs(rewards.values[0] + 1.05) < 1e-9 && rewards.decimals == 2)
        #expect(CurvePlot.format(-1.05, decimals: 2) == "-1.05" && CurvePlot.format(-0.00001, decimals: 2) == "-1.00E-05")
        #expect(CurvePlot.format(-0.001, decimals: 2) == "0.00")
    }

    @Test func movingAverageAndEmptyPlots() {
        #expect(CurvePlot.movingAverage([1, 2, 3, 4, 5], window: 2) == [1, 1.5, 2.5, 3.5, 4.5])
        #expect(CurvePlot.movingAverage([], window: 3).isEmpty)
        let empty = CurvePlot(title: "nothing").render()
        #expect(empty.width == 560)
        var nan = CurvePlot(title: "nan")
        nan.add(CurvePlot.Series(name: "x", values: [.nan, 1, .infinity, 2]))
        #expect(nan.series[0].points.count == 2)
        _ = nan.render()
    }
}
