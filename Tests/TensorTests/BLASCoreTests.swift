import CBLAS
import CUniRLKernels
import Foundation
import Testing
@testable import UniRLTensor

/// OpenBLAS runs vector kernels the CPU supports, even where its own CPU detection fell back to SSE3 ones.
@Suite struct BLASCoreTests {
    /// OpenBLAS's cores without AVX2 kernels (driver/others/dynamic.c's names).
    static let preAVX2Cores: Set<String> = [
        "unknown", "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
        "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "sandybridge", "bobcat", "bulldozer",
        "piledriver", "steamroller",
    ]

    /// On an AVX2 + FMA CPU with a run-time-dispatching OpenBLAS and no user `OPENBLAS_CORETYPE`, the
    /// kernels in use are AVX2 or better (on Emerald Rapids OpenBLAS 0.3.21 alone picks "Prescott").
    @Test func vectorKernelsWhereTheCPUHasThem() {
        let config = openblas_get_config().map { String(cString: $0) } ?? ""
        guard unirl_kernels_vectorized() != 0, config.contains("DYNAMIC_ARCH"),
            ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil
        else { return }
        let core = Parallel.blasCore.lowercased()
        #expect(!Self.preAVX2Cores.contains(core), "OpenBLAS runs its \(core) kernels on an AVX2 CPU")
        // A second call changes nothing: the choice is made once.
        #expect(unirl_blas_upgrade_kernels() == 0)
        #expect(Parallel.blasCore.lowercased() == core)
    }

    /// Products are still right after the switch (a small sgemm against a scalar loop).
    @Test func productAfterTheSwitch() {
        let m = 7, n = 33, k = 19
        let a = (0..<(m * k)).map { Float(($0 * 37) % 11) - 5 }
        let b = (0..<(k * n)).map { Float(($0 * 13) % 7) - 3 }
        let product = Tensor(shape: [m, k], scalars: a).matmul(Tensor(shape: [k, n], scalars: b))
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        #expect(product.scalars == expected)
    }
}
