// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "nightshift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nightshift", targets: ["nightshift"]),
        // What an application imports (Examples/hello-nightshift): the command line for its packs
        // and the Pack protocol; the engine; the server core; config; the two clients.
        .library(name: "Nightshift", targets: ["NightshiftCLI", "NightshiftKit"]),
        .library(name: "NightshiftEngine", targets: ["Engine"]),
        .library(name: "NightshiftServer", targets: ["Server"]),
        .library(name: "NightshiftConfig", targets: ["Config"]),
        .library(name: "Postgres", targets: ["Postgres"]),
        .library(name: "HTTPClient", targets: ["HTTPClient"]),
        .library(name: "Migrations", targets: ["Migrations"]),
        .library(name: "NightshiftSQL", targets: ["NightshiftSQL"]),
        // This repository's three workloads, for an application that wants them too.
        .library(name: "NightshiftPacks", targets: ["DossierPack", "CoveragePack", "PortfolioPack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.1.0"),
        // Already in the graph through jwt-kit; named here for HMAC-SHA256 of signed webhooks.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.1.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // OTLP/HTTP trace export only: the default traits would also build gRPC (grpc-swift-2,
        // nio-http2, its protobuf plugin), which this project never uses.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // The CLI's `--output table` (column widths, alignment), not hand padding.
        .package(url: "https://github.com/ordo-one/TextTable", from: "0.0.2"),
        // The OpenAPI 3.1 document (GET /api/v1/openapi.json) as typed values. Without its
        // default trait (ExternalLoading: multi-file $ref loading, slow to compile, never used here).
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
        // The console's HTML (/console): templates as readable files, HTML-escaped by default.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // System libraries: a modulemap and a shim header each, nothing else.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        // Wrappers, one job each.
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(
            name: "Observability",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Config",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // Short-lived service tokens for the engine's own HTTP calls (JWT, no HTTP server).
        .target(
            name: "ServiceTokens",
            dependencies: ["Config", .product(name: "JWTKit", package: "jwt-kit")]
        ),
        .target(
            name: "Migrations",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")]
        ),
        // The project's SQL as resources: sql/migrations/<component>/, one MigrationSet each.
        .target(
            name: "NightshiftSQL",
            dependencies: ["Migrations"],
            path: "sql",
            exclude: ["tests", "seed"],
            sources: ["NightshiftSQL.swift"],
            resources: [.copy("migrations")]
        ),
        .target(
            name: "Engine",
            dependencies: [
                "Postgres", "HTTPClient", "Config",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Notifications",
            dependencies: [
                "Postgres", "HTTPClient", "Config",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Postgres", "Config", "Observability", "Engine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The console's templates, script and style sheet, read once at start-up.
            resources: [.copy("Console/Templates"), .copy("Console/Assets")]
        ),
        // The plug-in point: what a pack contributes (functions, edge functions, routes, config, migrations).
        .target(
            name: "NightshiftKit",
            dependencies: ["Config", "Engine", "Server", "HTTPClient", "Migrations", .product(name: "Logging", package: "swift-log")]
        ),
        // Packs: each workload's jobs, thin Swift over its SQL schema.
        .target(
            name: "DossierPack",
            dependencies: [
                "NightshiftKit", "Migrations", "NightshiftSQL", "Server", "Engine", "Postgres", "HTTPClient", "Config", "ServiceTokens",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/Packs/Dossier"
        ),
        .target(
            name: "CoveragePack",
            dependencies: [
                "NightshiftKit", "Migrations", "NightshiftSQL", "Server", "Engine", "Postgres", "Config",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ],
            path: "Sources/Packs/Coverage"
        ),
        .target(
            name: "PortfolioPack",
            dependencies: [
                "NightshiftKit", "Migrations", "NightshiftSQL", "Server", "Engine", "Postgres", "HTTPClient", "Config",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Packs/Portfolio"
        ),
        // Edge functions: one folder each under functions/, served by Server.
        .target(
            name: "EdgeFunctions",
            dependencies: ["Server", "Postgres", "Engine", .product(name: "OpenAPIKit", package: "OpenAPIKit")],
            path: "functions"
        ),
        // Every command, for the packs an application hands it.
        .target(
            name: "NightshiftCLI",
            dependencies: [
                "NightshiftKit", "Postgres", "HTTPClient", "Config", "Migrations", "NightshiftSQL", "Observability", "Server", "Engine",
                "Notifications", "ServiceTokens",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "TextTable", package: "TextTable"),
            ]
        ),
        // This repository's binary: the CLI with the three packs and functions/.
        .executableTarget(
            name: "nightshift",
            dependencies: [
                "NightshiftCLI", "NightshiftKit", "EdgeFunctions", "DossierPack", "CoveragePack", "PortfolioPack",
                "Engine", "Notifications", "Postgres",
            ]
        ),

        // Benchmarks (bench/<area>/run.sh builds and runs them in release mode).
        .executableTarget(name: "bench-postgres", dependencies: ["Postgres"], path: "bench/postgres/swift"),
        .executableTarget(
            name: "bench-engine",
            dependencies: ["Engine", "Postgres", "Migrations", "NightshiftSQL", "Observability", .product(name: "Logging", package: "swift-log")],
            path: "bench/engine/swift"
        ),
        .target(name: "BenchSupport", dependencies: ["Postgres"], path: "bench/support/swift"),
        .executableTarget(
            name: "bench-coverage",
            dependencies: ["BenchSupport", "CoveragePack", "Engine", "Postgres", "Migrations", "NightshiftSQL", .product(name: "Logging", package: "swift-log")],
            path: "bench/coverage/swift"
        ),
        .executableTarget(
            name: "bench-dossier",
            dependencies: [
                "Notifications", "Config", "Postgres", "Migrations", "NightshiftSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "bench/dossier/swift"
        ),
        .executableTarget(
            name: "bench-portfolio",
            dependencies: [
                "BenchSupport", "PortfolioPack", "DossierPack", "CoveragePack", "NightshiftKit", "PortfolioProviderStub", "Server", "Engine",
                "Postgres", "Migrations", "NightshiftSQL", "Config", "HTTPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "bench/portfolio/swift"
        ),

        // Tests against a real PostgreSQL and real HTTP on loopback.
        .target(
            name: "TestSupport",
            dependencies: [
                "Postgres", "Migrations", "NightshiftSQL",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            path: "Tests/TestSupport"
        ),
        // The portfolio demo's and tests' market-data provider on loopback (not the product's code path).
        .target(
            name: "PortfolioProviderStub",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PortfolioProviderStub"
        ),
        .executableTarget(
            name: "portfolio-provider",
            dependencies: ["PortfolioProviderStub", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tests/portfolio-provider"
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: ["Postgres", "TestSupport", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),
        .testTarget(
            name: "HTTPClientTests",
            dependencies: ["HTTPClient", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "DossierPack", "CoveragePack", "PortfolioPack"]),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "Engine", "Postgres", "Config", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The loopback OTLP/HTTP receiver that a `nightshift worker` child exports to.
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "NotificationsTests",
            dependencies: [
                "Notifications", "Postgres", "Config", "TestSupport", "HTTPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "ObservabilityTests", dependencies: ["Observability"]),
        // The composition an application hands NightshiftCLI.main(packs:).
        .testTarget(name: "NightshiftCLITests", dependencies: ["NightshiftCLI", "NightshiftKit"]),
        .testTarget(name: "MigrationsTests", dependencies: ["Migrations", "NightshiftSQL", "Postgres", "TestSupport"]),
        // The `nightshift` binary run as a user would: output shapes, migrate --list, db reset, functions new.
        .testTarget(name: "CLITests", dependencies: ["Postgres", "Migrations", "NightshiftSQL", "TestSupport"]),
        .testTarget(
            name: "PackTests",
            dependencies: [
                "DossierPack", "CoveragePack", "PortfolioPack", "NightshiftKit", "Engine", "Server", "EdgeFunctions", "HTTPClient", "Config", "Postgres", "TestSupport",
                "ServiceTokens",
                "PortfolioProviderStub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "PortfolioProviderTests", dependencies: ["PortfolioPack", "PortfolioProviderStub", "HTTPClient"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "EdgeFunctions", "DossierPack", "CoveragePack", "PortfolioPack", "NightshiftKit", "Config", "Postgres", "TestSupport", "Engine", "ServiceTokens",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ]
        ),
    ]
)
