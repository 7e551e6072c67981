import FuzzTargets
#if canImport(Glibc)
import Glibc
#endif

// libFuzzer's entry points: built only with `swift build --sanitize=fuzzer` and
// SWIFTRBD_FUZZ=1 (scripts/fuzz.sh), where libFuzzer supplies `main`.
// SWIFTRBD_FUZZ_TARGET names the target (`FuzzTarget`'s raw values).

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let name = getenv("SWIFTRBD_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        let line = "swiftrbd-fuzz: set SWIFTRBD_FUZZ_TARGET to one of: \(known)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selected else { return 0 }
    target.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
