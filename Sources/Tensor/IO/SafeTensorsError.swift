/// Why a safetensors file, a sharded checkpoint or a write was rejected.
///
/// The header checks mirror the reference reader (`safetensors/src/tensor.rs`); cases that
/// concern one tensor carry its name.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is shorter than the 8-byte header length (`HeaderTooSmall`).
    case fileTooSmall(byteCount: Int)
    /// The declared header length exceeds 100 000 000 bytes (`HeaderTooLarge`).
    case headerTooLarge(headerLength: UInt64)
    /// `8 + header length` runs past the end of the file (`InvalidHeaderLength`).
    case headerLengthBeyondFile(headerLength: UInt64, fileSize: Int)
    /// The header bytes are not valid UTF-8 (`InvalidHeader`).
    case headerNotUTF8
    /// The header does not start with `{`.
    case headerDoesNotStartWithBrace
    /// The header is not valid JSON, or not a JSON object (`InvalidHeaderDeserialization`).
    case invalidJSON(String)
    /// `__metadata__` is not an object mapping strings to strings.
    case invalidMetadata(String)
    /// The header names the same tensor (or `__metadata__`) twice.
    case duplicateName(String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one is malformed.
    case invalidTensorInfo(name: String, reason: String)
    /// A tensor's `dtype` is not a known safetensors type.
    case unknownDType(name: String, dtype: String)
    /// Offsets are not contiguous from 0 (a hole, an overlap, or end before begin) (`InvalidOffset`).
    case invalidOffset(name: String, begin: Int, end: Int, expectedBegin: Int)
    /// The shape's element count times the element size overflows (`ValidationOverflow`).
    case sizeOverflow(name: String)
    /// A sub-byte tensor does not end on a byte boundary (`MisalignedSlice`).
    case misalignedSlice(name: String)
    /// `end - begin` differs from `elements × element size` (`TensorInvalidInfo`).
    case sizeMismatch(name: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's bytes lie past the end of the file.
    case offsetOutOfRange(name: String, end: Int, bufferSize: Int)
    /// The tensors do not cover the byte buffer up to the end of the file (`MetadataIncompleteBuffer`).
    case incompleteBuffer(bufferEnd: Int, bufferSize: Int)
    /// No tensor of that name (`TensorNotFound`).
    case tensorNotFound(String)
    /// The tensor's type cannot be converted the way that was asked.
    case unsupportedDType(name: String, dtype: SafeTensorsDType, operation: String)
    /// An integer value does not fit in `Int`.
    case integerOutOfRange(name: String)
    /// A tensor handed to the writer cannot be stored as asked.
    case invalidTensorForWriting(name: String, reason: String)
    /// A file could not be read.
    case fileUnreadable(path: String, reason: String)
    /// A file could not be written.
    case writeFailed(path: String, reason: String)
    /// A `*.safetensors.index.json` file is malformed.
    case invalidIndex(path: String, reason: String)
    /// The index names a shard file that does not exist.
    case missingShard(file: String, tensor: String)
    /// A shard named by the index is itself not a valid safetensors file.
    indirect case invalidShard(file: String, error: SafeTensorsError)
    /// The index maps a tensor to a shard that does not contain it.
    case tensorMissingFromShard(tensor: String, file: String)
    /// A directory holds no checkpoint this loader recognizes.
    case noCheckpointFound(path: String)
    /// A directory holds several candidate checkpoints and none is the conventional name.
    case ambiguousCheckpoint(path: String, candidates: [String])

    public var description: String {
        switch self {
        case .fileTooSmall(let n):
            "safetensors file too small: \(n) bytes, the header length alone takes 8"
        case .headerTooLarge(let n):
            "safetensors header too large: \(n) bytes (the limit is 100000000)"
        case .headerLengthBeyondFile(let n, let size):
            "invalid safetensors header length \(n): the file has only \(size) bytes"
        case .headerNotUTF8:
            "safetensors header is not valid UTF-8"
        case .headerDoesNotStartWithBrace:
            "safetensors header does not start with '{'"
        case .invalidJSON(let why):
            "safetensors header is not valid JSON: \(why)"
        case .invalidMetadata(let why):
            "invalid __metadata__ (it must map strings to strings): \(why)"
        case .duplicateName(let name):
            "safetensors header names '\(name)' more than once"
        case .invalidTensorInfo(let name, let why):
            "invalid header entry for tensor '\(name)': \(why)"
        case .unknownDType(let name, let dtype):
            "tensor '\(name)' has unknown dtype '\(dtype)'"
        case .invalidOffset(let name, let begin, let end, _) where end < begin:
            "invalid data_offsets [\(begin), \(end)] for tensor '\(name)': the end comes before the begin"
        case .invalidOffset(let name, let begin, let end, let expected):
            "invalid data_offsets [\(begin), \(end)] for tensor '\(name)': expected it to begin at \(expected) "
                + "(tensors must cover the buffer contiguously, without holes or overlaps)"
        case .sizeOverflow(let name):
            "tensor '\(name)': shape × dtype size overflows"
        case .misalignedSlice(let name):
            "tensor '\(name)': its bits do not end on a byte boundary"
        case .sizeMismatch(let name, let expected, let actual):
            "tensor '\(name)': data_offsets span \(actual) bytes but shape and dtype need \(expected)"
        case .offsetOutOfRange(let name, let end, let size):
            "tensor '\(name)' ends at byte \(end) of a \(size)-byte data buffer"
        case .incompleteBuffer(let end, let size):
            "tensors cover \(end) bytes but the data buffer holds \(size): the file is not fully indexed"
        case .tensorNotFound(let name):
            "tensor '\(name)' not found"
        case .unsupportedDType(let name, let dtype, let op):
            "tensor '\(name)' has dtype \(dtype.rawValue), which \(op) does not support"
        case .integerOutOfRange(let name):
            "tensor '\(name)' holds an integer that does not fit in Int"
        case .invalidTensorForWriting(let name, let why):
            "cannot write tensor '\(name)': \(why)"
        case .fileUnreadable(let path, let why):
            "cannot read \(path): \(why)"
        case .writeFailed(let path, let why):
            "cannot write \(path): \(why)"
        case .invalidIndex(let path, let why):
            "invalid checkpoint index \(path): \(why)"
        case .missingShard(let file, let tensor):
            "shard file \(file) (listed for tensor '\(tensor)') does not exist"
        case .invalidShard(let file, let error):
            "shard \(file): \(error.description)"
        case .tensorMissingFromShard(let tensor, let file):
            "the index maps tensor '\(tensor)' to \(file), which does not contain it"
        case .noCheckpointFound(let path):
            "no .safetensors file or .safetensors.index.json found at \(path)"
        case .ambiguousCheckpoint(let path, let candidates):
            "\(path) holds several checkpoints (\(candidates.joined(separator: ", "))); open one of them directly"
        }
    }
}
