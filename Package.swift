// swift-tools-version: 6.0
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "lblab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lblab", targets: ["lblab"]),
        .executable(name: "lblab-agent", targets: ["lblab-agent"]),
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
        /// The real servers' HTTP agent: a small C program lblab starts in each real server's namespace.
        .executableTarget(name: "lblab-agent", dependencies: ["CLblabSys"]),

        // Stage modules, in data-flow order.
        .target(name: "LblabTypes", swiftSettings: swift6),
        .target(name: "LblabModel", dependencies: ["LblabTypes", .product(name: "Yams", package: "Yams")], swiftSettings: swift6),
        .target(name: "LblabPlan", dependencies: ["LblabModel", "LblabTypes", "LblabDNS", "LblabKeepalived"], swiftSettings: swift6),
        /// keepalived on dispatchers: its configuration as data, and the text it reads.
        .target(name: "LblabKeepalived", dependencies: ["LblabTypes"], swiftSettings: swift6),
        .target(name: "LblabNetlink", dependencies: ["CMnl", "LblabTypes"], swiftSettings: swift6),
        .target(name: "LblabSystem", dependencies: ["CLblabSys"], swiftSettings: swift6),
        .target(name: "LblabCapture", dependencies: ["CPcap"], swiftSettings: swift6),
        .target(name: "LblabAnalysis", dependencies: ["LblabTypes", "LblabModel"], swiftSettings: swift6),
        .target(name: "LblabTraffic", dependencies: ["LblabSystem", "LblabTypes"], swiftSettings: swift6),
        /// DNS round-robin labs: dnsmasq/unbound configuration, DNS messages from captures, the DNS rules.
        .target(name: "LblabDNS", dependencies: ["LblabTypes", "LblabModel", "LblabCapture", "LblabAnalysis"], swiftSettings: swift6),
        .target(
            name: "LblabRuntime",
            dependencies: [
                "LblabModel", "LblabPlan", "LblabNetlink", "LblabSystem", "LblabCapture",
                "LblabAnalysis", "LblabTraffic", "LblabTypes", "LblabDNS", "LblabKeepalived",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift6),
        .executableTarget(
            name: "lblab",
            dependencies: ["LblabRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swift6),

        .testTarget(name: "LblabTypesTests", dependencies: ["LblabTypes"], swiftSettings: swift6),
        .testTarget(name: "LblabModelTests", dependencies: ["LblabModel"], swiftSettings: swift6),
        .testTarget(name: "LblabPlanTests", dependencies: ["LblabPlan", "LblabModel"], swiftSettings: swift6),
        .testTarget(name: "LblabNetlinkTests", dependencies: ["LblabNetlink"], swiftSettings: swift6),
        .testTarget(name: "LblabTrafficTests", dependencies: ["LblabTraffic", "LblabSystem", "LblabNetlink", "LblabCapture", "LblabTypes"],
                    swiftSettings: swift6),
        .testTarget(name: "LblabKeepalivedTests", dependencies: ["LblabKeepalived", "LblabTypes"], swiftSettings: swift6),
        .testTarget(name: "LblabDNSTests", dependencies: ["LblabDNS", "LblabCapture", "LblabTypes"], swiftSettings: swift6),
        .testTarget(
            name: "LblabAnalysisTests", dependencies: ["LblabAnalysis", "LblabCapture", "LblabModel", "LblabTypes"],
            resources: [.copy("Fixtures")], swiftSettings: swift6),
        .testTarget(name: "LblabRuntimeTests", dependencies: ["LblabRuntime"], exclude: ["Fixtures"], swiftSettings: swift6),
        .testTarget(
            name: "LblabIntegrationTests", dependencies: ["LblabRuntime", .product(name: "Yams", package: "Yams")],
            swiftSettings: swift6),
        // lblab in other projects' CI: JUnit reports read back by junitparser, the example
        // workflow linted, the LblabRuntime facade (Swift 6 language mode).
        .testTarget(name: "LblabCIUsersTests", dependencies: ["LblabRuntime", "LblabAnalysis"], swiftSettings: swift6),
    ]
)
