// swift-tools-version: 6.0
import PackageDescription

let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "lblab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lblab", targets: ["lblab"]),
        .library(name: "LblabRuntime", targets: ["LblabRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // C access: thin system-library wrappers and one C target for fork/setns/mount helpers.
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CPcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "CLblabSys"),

        // Stage modules, in data-flow order.
        .target(name: "LblabTypes", swiftSettings: v5),
        .target(name: "LblabModel", dependencies: ["LblabTypes", .product(name: "Yams", package: "Yams")], swiftSettings: v5),
        .target(name: "LblabPlan", dependencies: ["LblabModel", "LblabTypes"], swiftSettings: v5),
        .target(name: "LblabNetlink", dependencies: ["CMnl", "LblabTypes"], swiftSettings: v5),
        .target(name: "LblabSystem", dependencies: ["CLblabSys"], swiftSettings: v5),
        .target(name: "LblabCapture", dependencies: ["CPcap"], swiftSettings: v5),
        .target(name: "LblabAnalysis", dependencies: ["LblabTypes"], swiftSettings: v5),
        .target(name: "LblabTraffic", dependencies: ["LblabSystem"], swiftSettings: v5),
        .target(
            name: "LblabRuntime",
            dependencies: [
                "LblabModel", "LblabPlan", "LblabNetlink", "LblabSystem", "LblabCapture",
                "LblabAnalysis", "LblabTraffic", "LblabTypes",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: v5),
        .executableTarget(
            name: "lblab",
            dependencies: ["LblabRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: v5),

        .testTarget(name: "LblabTypesTests", dependencies: ["LblabTypes"], swiftSettings: v5),
        .testTarget(name: "LblabModelTests", dependencies: ["LblabModel"], swiftSettings: v5),
        .testTarget(name: "LblabPlanTests", dependencies: ["LblabPlan", "LblabModel"], swiftSettings: v5),
        .testTarget(name: "LblabNetlinkTests", dependencies: ["LblabNetlink"], swiftSettings: v5),
        .testTarget(
            name: "LblabAnalysisTests", dependencies: ["LblabAnalysis", "LblabCapture"],
            resources: [.copy("Fixtures")], swiftSettings: v5),
        .testTarget(name: "LblabRuntimeTests", dependencies: ["LblabRuntime"], exclude: ["Fixtures"], swiftSettings: v5),
        .testTarget(
            name: "LblabIntegrationTests", dependencies: ["LblabRuntime"], swiftSettings: v5),
    ]
)
