// swift-tools-version:6.1
import PackageDescription

// An application of its own that imports Nightshift (by path here; by URL in yours).
let package = Package(
    name: "hello-nightshift",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "nightshift", path: "../..")],
    targets: [
        .executableTarget(
            name: "HelloNightshift",
            dependencies: [
                .product(name: "Nightshift", package: "nightshift"),
                .product(name: "NightshiftEngine", package: "nightshift"),
                .product(name: "NightshiftServer", package: "nightshift"),
            ],
            resources: [.copy("migrations")]
        )
    ]
)
