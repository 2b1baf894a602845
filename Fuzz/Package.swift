// swift-tools-version:6.0
// Coverage-guided fuzz targets for zkoffsets' parsers (libFuzzer). A package of its own so that the main build
// never needs the fuzzer flags: scripts/fuzz builds it with `-sanitize=fuzzer,address` for every module.
import PackageDescription

let package = Package(
    name: "zkoffsets-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "zkoffsets", path: "..")],
    targets: [
        .executableTarget(
            name: "zkoffsets-fuzz",
            dependencies: [
                .product(name: "ZKOffsets", package: "zkoffsets"),
                .product(name: "ZKOffsetsTool", package: "zkoffsets"),
            ]
        )
    ]
)
