// swift-tools-version: 6.1
// The libFuzzer harness: one binary, the target chosen by UNIRL_FUZZ_TARGET. Built by `make fuzz`
// with `-sanitize=fuzzer,address` (see Fuzz/README.md); not part of the main build.
import PackageDescription

let package = Package(
    name: "UniRLFuzz",
    dependencies: [.package(name: "UniRL", path: "..")],
    targets: [
        .executableTarget(name: "UniRLFuzz", dependencies: [.product(name: "UniRLFuzzTargets", package: "UniRL")],
                          path: "Sources/UniRLFuzz"),
    ])
