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
