import Foundation

// libFuzzer drives one target, named by `FUZZ_TARGET` (one of `HostileInput.targets`). A violated property traps,
// which libFuzzer reports as a crash and saves as `crash-*`: each such finding becomes a corpus file and a test.
// SwiftPM gives an executable its own `main`, so libFuzzer runs through `LLVMFuzzerRunDriver` instead of its main.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

let target = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
guard HostileInput.targets.contains(target) else {
    FileHandle.standardError.write(Data("set FUZZ_TARGET to one of: \(HostileInput.targets.joined(separator: " "))\n".utf8))
    exit(2)
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    if let violation = HostileInput.violation(target: name, bytes) {
        fatalError("\(name): \(violation)")
    }
    return 0
})
