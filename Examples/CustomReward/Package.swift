// swift-tools-version: 6.2
// A user's package: defines its own reward and its own scenario, and trains with UniRL's library products only.
import PackageDescription

let package = Package(
    name: "CustomReward",
    dependencies: [
        .package(name: "UniRL", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "CustomReward",
            dependencies: [
                .product(name: "UniRLCore", package: "UniRL"),
                .product(name: "UniRLTensor", package: "UniRL"),
                .product(name: "UniRLToys", package: "UniRL"),
            ],
            path: "Sources/CustomReward"),
        // A user's scenario registered with UniRL's scenario registry and run through `unirl train`'s front end.
        .executableTarget(
            name: "CustomScenario",
            dependencies: [
                .product(name: "UniRLCore", package: "UniRL"),
                .product(name: "UniRLTensor", package: "UniRL"),
                .product(name: "UniRLToys", package: "UniRL"),
                .product(name: "UniRLScenarios", package: "UniRL"),
                .product(name: "UniRLCommandLine", package: "UniRL"),
            ],
            path: "Sources/CustomScenario"),
    ],
    swiftLanguageModes: [.v6]
)
