import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file-system failure said in words ("cannot create runs/x: permission denied") rather than
/// as a raw Foundation error dump.
public struct FileSystemError: Error, CustomStringConvertible, Equatable {
    /// What was being done: `create`, `write`, `open`.
    public var action: String
    public var path: String
    public var reason: String

    public init(action: String, path: String, reason: String) {
        self.action = action
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot \(action) \(path): \(reason)" }

    /// The words for an errno value.
    public static func reason(errno code: Int32) -> String {
        switch code {
        case EACCES, EPERM: "permission denied"
        case EROFS: "read-only file system"
        case ENOSPC: "no space left on device"
        case EDQUOT: "disk quota exceeded"
        case ENOTDIR: "a part of the path is a file, not a folder"
        case EEXIST: "it exists and is a file"
        case ENOENT: "no such file or folder"
        case ENAMETOOLONG: "the name is too long"
        case EIO: "input/output error"
        default: String(cString: strerror(code))
        }
    }

    /// Creates `url` as a folder (with its parents), reporting a failure in words.
    public static func createDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw FileSystemError(action: "create", path: url.path, reason: "it exists and is a file")
        }
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FileSystemError(action: "create", path: url.path, reason: describe(error))
        }
    }

    /// The words for a Foundation error: its underlying errno when it has one.
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return reason(errno: Int32(underlying.code))
        }
        if ns.domain == NSPOSIXErrorDomain { return reason(errno: Int32(ns.code)) }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        case .fileWriteOutOfSpace: return "no space left on device"
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        default: return ns.localizedDescription
        }
    }
}
