// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "zkoffsets",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ZooKeeper", targets: ["ZooKeeper"]),
        .library(name: "RdKafka", targets: ["RdKafka"]),
        .library(name: "ZKOffsets", targets: ["ZKOffsets"]),
        // The operators' library; a product so that Fuzz/ (a package of its own) can fuzz its parsers.
        .library(name: "ZKOffsetsTool", targets: ["ZKOffsetsTool"]),
        .executable(name: "zkoffsets", targets: ["zkoffsets"]),
        .executable(name: "print-consumer", targets: ["print-consumer"]),
        .executable(name: "word-count", targets: ["word-count"]),
        .executable(name: "mirror", targets: ["mirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // `swift package generate-documentation --target ZKOffsets` (or ZooKeeper); a plugin, not linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.0.0"),
        // 2.4.1: MetricNameDescriptor with required unit and help (the older initialisers are deprecated there).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // 2.101: the release this was built and tested against; older 2.x releases may lack what PrometheusEndpoint
        // uses (syncOperations, makeCompletedFuture, MultiThreadedEventLoopGroup.singleton).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
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
        // Calling blocking C APIs from async code: a thread per blocking call, a box for a value handed to that
        // thread, timeouts in C milliseconds; and the log metadata keys of every library. Shared by ZooKeeper,
        // RdKafka, ZKOffsets and the tool; no C, no dependencies, `package` access only (not a product, nothing of
        // it is public API).
        .target(name: "BlockingCalls"),
        .target(
            name: "ZooKeeper",
            dependencies: [
                "BlockingCalls",
                "CZooKeeper",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RdKafka",
            dependencies: [
                "BlockingCalls",
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ZKOffsets",
            dependencies: [
                "BlockingCalls",
                "ZooKeeper",
                "RdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The operators' tool's logic (plans, inventories, tables, the sandbox), beside the application library
        // rather than in it: the zkoffsets CLI, the tests and the benchmarks use it; applications do not.
        .target(
            name: "ZKOffsetsTool",
            dependencies: [
                "BlockingCalls",
                "ZKOffsets",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Serves a Prometheus registry over HTTP, for the executables only: library users of ZKOffsets do not
        // pay for swift-nio and swift-prometheus.
        .target(
            name: "PrometheusEndpoint",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "zkoffsets",
            dependencies: [
                "ZKOffsets",
                "ZKOffsetsTool",
                "PrometheusEndpoint",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "print-consumer",
            dependencies: [
                "ZKOffsets",
                "PrometheusEndpoint",
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
                "PrometheusEndpoint",
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
        // The fixtures the test targets share: the tests' ZooKeeper (`ZK_CONNECT`, read once), mock Kafka clusters,
        // polling for conditions without an event. Not a product; only the test targets depend on it.
        .target(
            name: "TestSupport",
            dependencies: ["ZKOffsets", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ZooKeeperTests", dependencies: ["ZooKeeper", "TestSupport"]),
        .testTarget(name: "RdKafkaTests", dependencies: ["RdKafka", "TestSupport"]),
        .testTarget(
            name: "ZKOffsetsTests",
            dependencies: [
                "TestSupport",
                "ZKOffsets",
                "ZKOffsetsTool",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // Server-free: pure logic (assignors, the consumer's state machine), runs in seconds.
        .testTarget(name: "ZKOffsetsUnitTests", dependencies: ["ZKOffsets", "RdKafka"]),
    ]
)
