/// Keys and values of the positions already processed, one entry per attention layer, so that
/// incremental decoding attends to the past without recomputing it (transformers' `DynamicCache`).
///
/// Keys and values are kept after rotary embedding, shaped [B, Hk, S, D]; each call appends the
/// new positions along S. Caches are filled inside ``withoutGrad(_:)``: they hold no tape.
public final class KeyValueCache {
    public private(set) var keys: [Tensor?]
    public private(set) var values: [Tensor?]

    /// An empty cache for a model with `layers` attention layers.
    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// Key padding of the cached positions and the new ones, [B, S] (1 attend, 0 padding).
    public private(set) var keyPadding: Tensor?

    /// Appends the new positions' padding [B, T] and returns the padding of all keys [B, S + T].
    public func extendKeyPadding(_ mask: Tensor) -> Tensor {
        let m = keyPadding.map { Tensor.concatenate([$0, mask], axis: 1) } ?? mask
        keyPadding = m.detached()
        return m
    }

    /// The number of cached positions (S).
    public var length: Int { keys.first.flatMap { $0?.shape[2] } ?? 0 }

    /// Appends `key`/`value` [B, Hk, T, D] to layer `layer` and returns the whole history [B, Hk, S+T, D].
    public func append(layer: Int, key: Tensor, value: Tensor) -> (key: Tensor, value: Tensor) {
        let k = keys[layer].map { Tensor.concatenate([$0, key], axis: 2) } ?? key
        let v = values[layer].map { Tensor.concatenate([$0, value], axis: 2) } ?? value
        keys[layer] = k.detached(); values[layer] = v.detached()
        return (k, v)
    }

    /// Keeps only the batch rows `rows` (in that order), e.g. to drop finished sequences.
    public func selectRows(_ rows: [Int]) {
        for i in keys.indices {
            keys[i] = keys[i]?.indexSelect(axis: 0, rows)
            values[i] = values[i]?.indexSelect(axis: 0, rows)
        }
        keyPadding = keyPadding?.indexSelect(axis: 0, rows)
    }
}
