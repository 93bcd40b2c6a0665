import UniRLTensor

/// The runners for each fixture kind. Model families add theirs here as they land.
enum ParityKinds {
    static let all: [String: ParityRunner] = [
        "sana_transformer": SanaTransformerParity.run,
        "autoencoder_dc_encode": AutoencoderDCParity.encode,
        "autoencoder_dc_decode": AutoencoderDCParity.decode,
        "qwen2": Qwen2Parity.runner,
        "qwen2_5_vl": QwenVLParity.runner,
        "meta_query_connector": ConnectorParity.run,
        "unified_t2i": UnifiedParity.run,
        "clip": CLIPParity.runner,
    ]
}
