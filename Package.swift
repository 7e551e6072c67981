// swift-tools-version:6.0
//
// SwiftRBD: a pure-Swift client for Ceph block storage (RADOS + RBD).
// Layers, bottom up: CCRC32C (hardware CRC32C), RADOSProto (encoding,
// messenger v2, cephx, monitor client, OSDMap/CRUSH, objecter), RBDCache,
// RBDCore (images), rbdctl (CLI).

import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// libFuzzer's driver exists only in fuzz builds (scripts/fuzz.sh): libFuzzer supplies its `main`.
let fuzzBuild = Context.environment["SWIFTRBD_FUZZ"] == "1"

let package = Package(
    name: "SwiftRBD",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RADOSProto", targets: ["RADOSProto"]),
        .library(name: "RBDCore", targets: ["RBDCore"]),
        .executable(name: "rbdctl", targets: ["rbdctl"]),
        // librados/librbd's C ABI for unmodified C programs (QEMU, fio): `make c-libs`
        // links librados.so.2 and librbd.so.1 to it.
        .library(name: "swiftrbd", type: .dynamic, targets: ["CephCABI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        // CRC32C with the SSE4.2 instruction behind a runtime CPU check (C, so no unsafe flags).
        .target(name: "CCRC32C"),
        // OpenSSL's libcrypto (EVP AES-128-GCM for msgr2 secure mode, streamed over a
        // frame's pieces); Debian's libssl-dev.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // libargon2 (Argon2id, the KDF of LUKS2 key slots); Debian's libargon2-dev.
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        // zlib (raw inflate for qcow2's compressed clusters); Debian's zlib1g-dev.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "RADOSProto",
            dependencies: [
                "CCRC32C",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "RBDCache",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Disk image files rbdctl converts from (raw and qcow2 v2/v3), read without QEMU.
        .target(
            name: "DiskImageFormats",
            dependencies: ["CZlib", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "RBDCore",
            dependencies: [
                "RADOSProto", "RBDCache", "COpenSSL", "CArgon2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "rbdctl",
            dependencies: [
                "RADOSProto", "RBDCore", "RBDCache", "DiskImageFormats",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The C types of the librados/librbd ABI (Ceph's layouts, our declarations).
        .target(name: "CCephABI"),
        // The librados/librbd C functions (`@_cdecl`) over RADOSProto and RBDCore.
        .target(
            name: "CephCABI",
            dependencies: [
                "CCephABI", "RADOSProto", "RBDCore", "RBDCache",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["exports.map"],
            swiftSettings: strict,
            // Only the C functions are exported (and one carries librados' version).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CephCABI/exports.map"])]
        ),
        // Micro-benchmarks (CRC32C, CRUSH, …): prints numbers, never asserts speed.
        .executableTarget(
            name: "Microbench",
            dependencies: [
                "RADOSProto",
                "RBDCore",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RADOSProtoTests",
            dependencies: [
                "RADOSProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RBDCacheTests",
            dependencies: ["RBDCache", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DiskImageFormatsTests",
            dependencies: ["DiskImageFormats", "CZlib", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RBDCoreTests",
            dependencies: ["RBDCore", "RADOSProto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // The decoders of untrusted input as fuzz targets (Fuzz/README.md); the corpus is replayed by FuzzTargetsTests.
        .target(
            name: "FuzzTargets",
            dependencies: ["RADOSProto", "RBDCore", "DiskImageFormats", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/Targets",
            swiftSettings: strict
        ),
        .testTarget(
            name: "FuzzTargetsTests",
            dependencies: ["FuzzTargets"],
            swiftSettings: strict
        ),
        // Self-checking blocks for the durability tests, and the writer the writeback
        // crash test kills (IntegrationTests runs it as a process of its own).
        .target(name: "CheckedBlocks", path: "Tests/Tools/CheckedBlocks", swiftSettings: strict),
        .executableTarget(
            name: "swiftrbd-crash-writer",
            dependencies: ["CheckedBlocks", "RADOSProto", "RBDCore", "RBDCache", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/Tools/CrashWriter",
            swiftSettings: strict
        ),
        // Against a real cluster (CEPH_CONF) and Ceph's own tools; skips without them.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CheckedBlocks", "RADOSProto", "RBDCore", "RBDCache", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict
        ),
    ] + (fuzzBuild ? [
        .executableTarget(
            name: "swiftrbd-fuzz",
            dependencies: ["FuzzTargets"],
            path: "Fuzz/Driver",
            swiftSettings: strict
        ),
    ] : [])
)
