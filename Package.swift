// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "zkoffsets",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ZooKeeper", targets: ["ZooKeeper"]),
        .library(name: "RdKafka", targets: ["RdKafka"]),
        .library(name: "ZKOffsets", targets: ["ZKOffsets"]),
        .executable(name: "zkoffsets", targets: ["zkoffsets"]),
        .executable(name: "print-consumer", targets: ["print-consumer"]),
        .executable(name: "word-count", targets: ["word-count"]),
        .executable(name: "mirror", targets: ["mirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZooKeeper",
            providers: [.apt(["libzookeeper-mt-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "ZooKeeper",
            dependencies: [
                "CZooKeeper",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RdKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ZKOffsets",
            dependencies: [
                "ZooKeeper",
                "RdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "zkoffsets",
            dependencies: [
                "ZKOffsets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "print-consumer",
            dependencies: [
                "ZKOffsets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "examples/print-consumer"
        ),
        .executableTarget(
            name: "word-count",
            dependencies: [
                "ZKOffsets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "examples/word-count"
        ),
        .executableTarget(
            name: "mirror",
            dependencies: [
                "ZKOffsets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "examples/mirror"
        ),
        .executableTarget(
            name: "zkoffsets-bench",
            dependencies: [
                "ZKOffsets",
                "ZooKeeper",
                "RdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/zkoffsets-bench"
        ),
        .testTarget(name: "ZooKeeperTests", dependencies: ["ZooKeeper"]),
        .testTarget(name: "RdKafkaTests", dependencies: ["RdKafka"]),
        .testTarget(name: "ZKOffsetsTests", dependencies: ["ZKOffsets"]),
    ]
)
