import Foundation
import UniRLFuzzTargets

/// The target this process fuzzes (`UNIRL_FUZZ_TARGET`, one of ``FuzzTargets/names``).
let selectedTarget: String = {
    let name = ProcessInfo.processInfo.environment["UNIRL_FUZZ_TARGET"] ?? ""
    guard FuzzTargets.names.contains(name) else {
        FileHandle.standardError.write(Data("set UNIRL_FUZZ_TARGET to one of \(FuzzTargets.names)\n".utf8))
        exit(2)
    }
    return name
}()

/// libFuzzer's entry point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzTargets.run(selectedTarget, Data(bytes: bytes, count: count))
    return 0
}

/// libFuzzer's driver (compiler-rt FuzzerInterface.h), run from this executable's own entry.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM names an executable module's entry `<module>_main` (and links `main` to it); with
/// `-parse-as-library` this file provides it and hands control to libFuzzer.
@_cdecl("UniRLFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { bytes, size in fuzzOneInput(bytes, size) }
}
