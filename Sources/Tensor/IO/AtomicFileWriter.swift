import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old contents or the new, never a mix: the
/// bytes go to a temporary file in the destination directory, are flushed with `fsync`, and
/// the temporary file is then renamed over the destination with `rename(2)`.
enum AtomicFileWriter {
    /// Why an atomic write failed, with the step and the system's message.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func write(_ data: Data, to url: URL) throws(Failure) {
        let destination = url.standardizedFileURL.path
        let directory = (destination as NSString).deletingLastPathComponent
        let name = (destination as NSString).lastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(".\(name).\(UUID().uuidString).tmp")

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(temporary): \(errnoMessage())") }
        var failure: Failure?
        data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count, let base = raw.baseAddress {
                let n = Glibc_write(fd, base + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = Failure(description: "write failed: \(errnoMessage())")
                    return
                }
                written += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = Failure(description: "fsync failed: \(errnoMessage())") }
        if close(fd) != 0, failure == nil { failure = Failure(description: "close failed: \(errnoMessage())") }
        if failure == nil, rename(temporary, destination) != 0 {
            failure = Failure(description: "rename to \(destination) failed: \(errnoMessage())")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    private static func errnoMessage() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, named apart from the enclosing `write(_:to:)`.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
