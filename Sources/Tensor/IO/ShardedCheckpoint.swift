import Foundation

/// A checkpoint stored as one safetensors file or as shards listed by a
/// `*.safetensors.index.json` file (`{"weight_map": {"tensor.name": "shard-file", …}}`).
///
/// ```swift
/// let ckpt = try ShardedCheckpoint(contentsOf: modelDirectory)
/// let w = try ckpt.tensor(named: "model.embed_tokens.weight")
/// ```
///
/// Every shard is memory-mapped and its header validated when the checkpoint is opened, and
/// every tensor the index lists is checked to be present in its shard.
public struct ShardedCheckpoint: Sendable {
    /// The file that was opened: the index, or the single `.safetensors` file.
    public let url: URL
    /// All tensor names, sorted.
    public let names: [String]
    /// The shard file (relative to the index's directory) holding each tensor.
    public let weightMap: [String: String]
    private let shards: [String: SafeTensorsFile]

    /// Opens `url`, which is either a file (`.safetensors` or `.safetensors.index.json`) or a
    /// directory. In a directory the first match wins: `model.safetensors`,
    /// `diffusion_pytorch_model.safetensors`, their `.index.json` forms, then the only
    /// `*.safetensors.index.json`, then the only `*.safetensors`.
    public init(contentsOf url: URL) throws {
        let file = try Self.resolve(url)
        self.url = file
        if file.lastPathComponent.hasSuffix(".index.json") {
            let map = try Self.readWeightMap(file)
            let directory = file.deletingLastPathComponent()
            var shards: [String: SafeTensorsFile] = [:]
            for shard in Set(map.values).sorted() {
                let firstTensor = map.filter { $0.value == shard }.keys.min() ?? ""
                let shardURL = directory.appendingPathComponent(shard)
                guard FileManager.default.fileExists(atPath: shardURL.path) else {
                    throw SafeTensorsError.missingShard(file: shardURL.path, tensor: firstTensor)
                }
                do { shards[shard] = try SafeTensorsFile(contentsOf: shardURL) } catch let error as SafeTensorsError {
                    throw SafeTensorsError.invalidShard(file: shardURL.path, error: error)
                }
            }
            for name in map.keys.sorted() {
                guard let shard = map[name], shards[shard]?.contains(name) == true else {
                    throw SafeTensorsError.tensorMissingFromShard(
                        tensor: name, file: directory.appendingPathComponent(map[name] ?? "").path)
                }
            }
            self.weightMap = map
            self.shards = shards
        } else {
            let single = try SafeTensorsFile(contentsOf: file)
            let shard = file.lastPathComponent
            self.weightMap = Dictionary(uniqueKeysWithValues: single.names.map { ($0, shard) })
            self.shards = [shard: single]
        }
        self.names = weightMap.keys.sorted()
    }

    /// Whether the checkpoint holds tensor `name`.
    public func contains(_ name: String) -> Bool { weightMap[name] != nil }

    /// The dtype and shape of tensor `name`, or `nil` if there is none.
    public func info(for name: String) -> (dtype: SafeTensorsDType, shape: [Int])? {
        try? file(holding: name).info(for: name)
    }

    /// Tensor `name` converted to `Float` (see ``SafeTensorsFile/tensor(named:)``).
    public func tensor(named name: String) throws -> Tensor {
        try file(holding: name).tensor(named: name)
    }

    /// Tensor `name` as a mapped ``BFloat16Matrix`` (see ``SafeTensorsFile/bfloat16Matrix(named:)``).
    public func bfloat16Matrix(named name: String) throws -> BFloat16Matrix? {
        try file(holding: name).bfloat16Matrix(named: name)
    }

    /// Integer tensor `name` (see ``SafeTensorsFile/integers(named:)``).
    public func integers(named name: String) throws -> [Int] {
        try file(holding: name).integers(named: name)
    }

    private func file(holding name: String) throws -> SafeTensorsFile {
        guard let shard = weightMap[name], let file = shards[shard] else {
            throw SafeTensorsError.tensorNotFound(name)
        }
        return file
    }

    /// The checkpoint file `url` designates.
    private static func resolve(_ url: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SafeTensorsError.fileUnreadable(path: url.path, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return url }
        let contents: [String]
        do { contents = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw SafeTensorsError.fileUnreadable(path: url.path, reason: error.localizedDescription)
        }
        let present = Set(contents)
        for preferred in ["model.safetensors", "diffusion_pytorch_model.safetensors",
                          "model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json"]
        where present.contains(preferred) {
            return url.appendingPathComponent(preferred)
        }
        for suffix in [".safetensors.index.json", ".safetensors"] {
            let matches = contents.filter { $0.hasSuffix(suffix) && !$0.hasPrefix(".") }.sorted()
            if matches.count == 1 { return url.appendingPathComponent(matches[0]) }
            if matches.count > 1 { throw SafeTensorsError.ambiguousCheckpoint(path: url.path, candidates: matches) }
        }
        throw SafeTensorsError.noCheckpointFound(path: url.path)
    }

    /// The `weight_map` of an index file, with shard paths checked to stay inside its directory.
    private static func readWeightMap(_ url: URL) throws -> [String: String] {
        let data: Data
        do { data = try Data(readingFileAt: url) } catch {
            throw SafeTensorsError.fileUnreadable(path: url.path, reason: error.localizedDescription)
        }
        func invalid(_ reason: String) -> SafeTensorsError { .invalidIndex(path: url.path, reason: reason) }
        let json: JSONValue
        do { json = try JSONParser.parse([UInt8](data)) } catch { throw invalid("not valid JSON: \(error)") }
        guard case .object(let top) = json else { throw invalid("the top level is not an object") }
        guard let weightMap = top.last(where: { $0.key == "weight_map" })?.value else {
            throw invalid("no \"weight_map\" entry")
        }
        guard case .object(let entries) = weightMap else { throw invalid("\"weight_map\" is not an object") }
        var map: [String: String] = [:]
        for (name, value) in entries {
            guard case .string(let shard) = value else {
                throw invalid("the shard of '\(name)' is \(value.kindName), not a string")
            }
            guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains("..") else {
                throw invalid("shard path '\(shard)' for '\(name)' leaves the index's directory")
            }
            guard map.updateValue(shard, forKey: name) == nil else { throw invalid("tensor '\(name)' is listed twice") }
        }
        return map
    }
}
