// swift-tools-version: 6.0
// A project that tests its load-balancing setup with lblab: its test target depends on
// lblab's `LblabRuntime` library and brings a real LVS lab up from its own lab file.
//
// In your own project, depend on lblab by URL instead of by path:
//     .package(url: "https://github.com/<owner>/lblab", branch: "main")
// and name it `package: "lblab"` below.
import PackageDescription

let package = Package(
    name: "WebTier",
    platforms: [.macOS(.v13)],
    products: [.library(name: "WebTier", targets: ["WebTier"])],
    dependencies: [
        // This repository's root (examples/swift-package/../..), named "lblab" whatever the
        // checkout's directory is called.
        .package(name: "lblab", path: "../.."),
    ],
    targets: [
        .target(name: "WebTier"),
        .testTarget(
            name: "WebTierTests",
            dependencies: ["WebTier", .product(name: "LblabRuntime", package: "lblab")]),
    ]
)
