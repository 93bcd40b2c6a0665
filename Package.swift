// swift-tools-version: 6.2
import PackageDescription

// Layers (see docs/ARCHITECTURE.md): system libraries → Tensor → Core → Toys, Experts → Rewards → Scenarios
// → CommandLine → CLI.
// No unsafe build flags: the library must be correct and fast when built as someone else's dependency.
let package = Package(
    name: "UniRL",
    products: [
        .library(name: "UniRLTensor", targets: ["UniRLTensor"]),
        .library(name: "UniRLShapesWorld", targets: ["UniRLShapesWorld"]),
        .library(name: "UniRLCore", targets: ["UniRLCore"]),
        .library(name: "UniRLToys", targets: ["UniRLToys"]),
        .library(name: "UniRLExperts", targets: ["UniRLExperts"]),
        .library(name: "UniRLRewards", targets: ["UniRLRewards"]),
        .library(name: "UniRLScenarios", targets: ["UniRLScenarios"]),
        .library(name: "UniRLCommandLine", targets: ["UniRLCommandLine"]),
        .library(name: "UniRLFuzzTargets", targets: ["UniRLFuzzTargets"]),
        .executable(name: "unirl", targets: ["UniRLCLI"]),
        .library(name: "UniRLMPI", targets: ["UniRLMPI"]),
        .executable(name: "unirl-mpi", targets: ["UniRLMPITool"]),
    ],
    // `swift build --traits MPI` builds data-parallel training over Open MPI (`make deps` installs it);
    // the default build needs no MPI. A user's package: .package(url: …, from: …, traits: ["MPI"]).
    traits: [
        .trait(name: "MPI", description: "Data-parallel training over Open MPI (libopenmpi-dev): mpirun -np N unirl train …")
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        // Only targets built with the MPI trait depend on it, so a build without the trait needs no MPI.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Vector kernels in C: AVX2 versions chosen at run time, so no compiler flag is needed.
        .target(name: "CUniRLKernels", path: "Sources/CKernels"),
        .target(name: "UniRLTensor", dependencies: ["CBLAS", "CPNG", "CTurboJPEG", "CUniRLKernels"], path: "Sources/Tensor"),
        // The pass rule of the parity fixtures and the conv workload: for tests and the benchmarks only,
        // so not a product.
        .target(name: "UniRLTestSupport", dependencies: ["UniRLTensor"], path: "Sources/TestSupport"),
        .target(name: "UniRLShapesWorld", dependencies: ["UniRLTensor"], path: "Sources/ShapesWorld",
                resources: [.copy("Resources")]),
        .target(name: "UniRLCore",
                dependencies: ["UniRLTensor",
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "Yams", package: "Yams")],
                path: "Sources/Core"),
        // Toy scenarios, rewards and policies: small enough to train in seconds, for tests and examples.
        .target(name: "UniRLToys", dependencies: ["UniRLTensor", "UniRLCore"], path: "Sources/Toys"),
        .target(name: "UniRLExperts", dependencies: ["UniRLTensor", "UniRLCore", "CUniRLKernels"], path: "Sources/Experts"),
        .target(name: "UniRLRewards", dependencies: ["UniRLTensor", "UniRLCore", "UniRLShapesWorld", "UniRLExperts"],
                path: "Sources/Rewards"),
        .target(name: "UniRLScenarios",
                dependencies: ["UniRLTensor", "UniRLCore", "UniRLToys", "UniRLShapesWorld", "UniRLRewards", "UniRLExperts"],
                path: "Sources/Scenarios", resources: [.copy("Resources")]),
        // The Collective of Core over Open MPI; empty without the MPI trait.
        .target(name: "UniRLMPI", dependencies: ["UniRLCore", .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
                path: "Sources/MPI"),
        // Data-parallel checks and measurements on the toys (quick to build with the trait): the MPI tests run it.
        .executableTarget(name: "UniRLMPITool",
                          dependencies: ["UniRLCore", "UniRLToys", "UniRLMPI", "UniRLTensor",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/MPITool"),
        // `unirl train`'s front end, a library so that a user's package can run its own scenarios through it.
        .target(name: "UniRLCommandLine",
                dependencies: ["UniRLCore", "UniRLScenarios", "UniRLMPI",
                               .product(name: "ArgumentParser", package: "swift-argument-parser")],
                path: "Sources/CommandLine"),
        .target(name: "UniRLFuzzTargets", dependencies: ["UniRLTensor", "UniRLCore", "UniRLExperts", "UniRLShapesWorld"],
                path: "Sources/FuzzTargets"),
        .executableTarget(name: "UniRLCLI",
                          dependencies: ["UniRLTensor", "UniRLShapesWorld", "UniRLCore", "UniRLToys", "UniRLRewards", "UniRLExperts",
                                         "UniRLScenarios", "UniRLCommandLine", "UniRLTestSupport", "CBLAS",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          path: "Sources/CLI"),
        .testTarget(name: "TensorTests", dependencies: ["UniRLTensor", "UniRLTestSupport", "CUniRLKernels"], path: "Tests/TensorTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "FuzzSeedTests", dependencies: ["UniRLFuzzTargets"], path: "Tests/FuzzSeedTests"),
        .testTarget(name: "ShapesWorldTests", dependencies: ["UniRLShapesWorld"], path: "Tests/ShapesWorldTests"),
        .testTarget(name: "CoreTests", dependencies: ["UniRLCore", "UniRLToys"], path: "Tests/CoreTests"),
        .testTarget(name: "RewardsTests", dependencies: ["UniRLRewards", "UniRLExperts"], path: "Tests/RewardsTests"),
        .testTarget(name: "ExpertsTests", dependencies: ["UniRLExperts", "UniRLTestSupport"], path: "Tests/ExpertsTests"),
        // Spawns `mpirun … unirl-mpi` (built with the MPI trait, path in UNIRL_MPI_TOOL); skipped without it.
        .testTarget(name: "MPITests", dependencies: [], path: "Tests/MPITests"),
        .testTarget(name: "ScenariosTests", dependencies: ["UniRLScenarios", "UniRLToys"], path: "Tests/ScenariosTests"),
    ],
    swiftLanguageModes: [.v6]
)
