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
        .package(url: "https://github.com/apple/swift-crypto", "4.5.2"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Pure domain: no I/O, time passed in as a value. Depends on nothing.
        .target(name: "NurtureCore", swiftSettings: strict),

        // Content adapters: workflow YAML, Mustache templates, tracking instrumentation and signed
        // tokens, MIME message building (RFC 5322 / 2045 / 2047), lead CSV and JSON.
        .target(
            name: "NurtureContent",
            dependencies: [
                "NurtureCore",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CSV", package: "CSV.swift"),
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

        // Storage: SQLite through GRDB (the zero-setup default), behind NurtureCore's store ports.
        .target(
            name: "NurtureSQLite",
            dependencies: ["NurtureCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),

        // Storage: PostgreSQL through postgres-nio (N processes on several machines), behind the
        // same ports and the same contract suite as SQLite.
        .target(
            name: "NurturePostgres",
            dependencies: [
                "NurtureCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        // The application: use cases only (scheduling, delivery, feedback from tracking and the
        // API, dry-run). It owns the protocol the HTTP layer calls. Core and content only.
        .target(
            name: "NurtureApp",
            dependencies: ["NurtureCore", "NurtureContent", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),

        // HTTP: Hummingbird routes (tracking, API, webhooks) over the application's protocol.
        .target(
            name: "NurtureServer",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureApp",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Wiring only: configuration, the store factory by URL, metrics, the service group.
        .target(
            name: "NurtureRuntime",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureApp", "NurtureDelivery", "NurtureSQLite", "NurturePostgres", "NurtureServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),

        // The command-line interface and its presentation (lead report, dry-run report).
        .executableTarget(
            name: "nurture",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureDelivery", "NurtureApp", "NurtureRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // Benchmarks (run in release mode by scripts/bench-*; never part of the test suite).
        .executableTarget(
            name: "NurtureBench",
            dependencies: [
                "NurtureCore", "NurtureContent", "NurtureDelivery", "NurtureApp", "NurtureRuntime", "NurtureSQLite", "NurturePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // posix_spawn's closefrom and chdir actions, which Swift's Glibc module does not declare.
        .systemLibrary(name: "CSpawn", path: "Tests/CSpawn"),
        .target(name: "TestSupport", dependencies: ["CSpawn"], path: "Tests/Support", exclude: ["smtp_server.py", "http_server.py", "parse_mime.py", "idle_connections.py", "dkim_verify.py"], swiftSettings: strict),
        .testTarget(name: "NurtureCoreTests", dependencies: ["NurtureCore"], swiftSettings: strict),
        .testTarget(name: "NurtureContentTests", dependencies: ["NurtureContent", "TestSupport"], exclude: ["Golden", "WorkflowCorpus"], swiftSettings: strict),
        .testTarget(
            name: "NurtureDeliveryTests",
            dependencies: ["NurtureDelivery", "NurtureContent", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NurtureAppTests",
            dependencies: [
                "NurtureApp", "NurtureRuntime", "NurtureSQLite", "NurtureContent", "NurtureServer", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The store contract: one body per guarantee, run against every storage adapter.
        .testTarget(
            name: "NurtureStoreContractTests",
            dependencies: ["NurtureCore", "NurtureSQLite", "NurturePostgres", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // Runs the built `nurture` binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
