// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Nurture",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nurture", targets: ["nurture"]),
        .executable(name: "nurture-bench", targets: ["NurtureBench"]),
        .library(name: "NurtureCore", targets: ["NurtureCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure domain: no I/O, time passed in as a value. Depends on nothing.
        .target(name: "NurtureCore", swiftSettings: strict),

        // Content adapters: Mustache templates, tracking instrumentation and signed tokens,
        // MIME message building (RFC 5322 / 2045 / 2047).
        .target(
            name: "NurtureContent",
            dependencies: [
                "NurtureCore",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),

        // libcurl, Debian's libcurl4-openssl-dev, with inline wrappers for its variadic calls.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // Delivery adapters: SMTP and HTTP relay through libcurl, and a file transport.
        .target(name: "NurtureDelivery", dependencies: ["NurtureCore", "CCurl"], swiftSettings: strict),

        // Storage: SQLite through GRDB (the zero-setup default), behind NurtureCore's store port.
        .target(
            name: "NurtureSQLite",
            dependencies: ["NurtureCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),

        // HTTP: Hummingbird application (health, and the tracking and API routes).
        .target(
            name: "NurtureServer",
            dependencies: [
                "NurtureCore", "NurtureContent",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The service: configuration, the scheduler and delivery workers as Services, wiring.
        .target(
            name: "NurtureService",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureDelivery", "NurtureSQLite", "NurtureServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),

        // The command-line interface: thin, wires the modules above.
        .executableTarget(
            name: "nurture",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureDelivery", "NurtureService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Benchmarks (run in release mode by scripts/bench-*; never part of the test suite).
        .executableTarget(
            name: "NurtureBench",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureDelivery", "NurtureService", "NurtureSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        .target(name: "TestSupport", path: "Tests/Support", exclude: ["smtp_server.py", "http_server.py", "parse_mime.py", "idle_connections.py"], swiftSettings: strict),
        .testTarget(name: "NurtureCoreTests", dependencies: ["NurtureCore"], swiftSettings: strict),
        .testTarget(name: "NurtureContentTests", dependencies: ["NurtureContent", "TestSupport"], exclude: ["Golden", "WorkflowCorpus"], swiftSettings: strict),
        .testTarget(
            name: "NurtureDeliveryTests",
            dependencies: ["NurtureDelivery", "NurtureContent", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NurtureServiceTests",
            dependencies: [
                "NurtureService", "NurtureSQLite", "NurtureContent", "NurtureServer", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The store contract: one body per guarantee, run against every storage adapter.
        .testTarget(name: "NurtureStoreContractTests", dependencies: ["NurtureCore", "NurtureSQLite"], swiftSettings: strict),
        // Runs the built `nurture` binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
