// swift-tools-version: 6.2
// A user's package: defines its own reward and trains with UniRL's library products only.
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
            ],
            path: "Sources/CustomReward"),
    ],
    swiftLanguageModes: [.v6]
)
