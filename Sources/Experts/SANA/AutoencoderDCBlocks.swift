import UniRLTensor

// What DC-AE's stages are made of (diffusers' models/autoencoders/autoencoder_dc.py): the layer
// protocol and the stage sequence, the activations, `get_block` and the ResBlock. The EfficientViT
// block and the resampling blocks have their own files. All work on images [B, C, H, W].

/// A layer of a DC-AE stage (an entry of diffusers' `nn.Sequential`).
protocol AutoencoderDCLayer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// A plain convolution is a stage layer too (`conv_in`, `conv_out`).
extension Conv2d: AutoencoderDCLayer {}

/// diffusers' `nn.Sequential` of DC-AE layers, named `0`, `1`, ….
final class AutoencoderDCStage: Module {
    let layers: [any AutoencoderDCLayer]
    init(_ layers: [any AutoencoderDCLayer]) { self.layers = layers }

    var submodules: [String: any Module] {
        Dictionary(uniqueKeysWithValues: layers.enumerated().map { (String($0.offset), $0.element as any Module) })
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// The activations DC-AE's configurations name (diffusers' `get_activation`, case-insensitive).
enum SanaActivation {
    case silu, relu, gelu

    init?(name: String) {
        switch name.lowercased() {
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        case "gelu": self = .gelu
        default: return nil
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu: x.silu()
        case .relu: x.relu()
        case .gelu: x.gelu()
        }
    }
}

/// diffusers' `get_block`: a ResBlock (`"ResBlock"`) or an EfficientViT block (otherwise; the
/// configuration has checked the name) of `channels` channels.
func autoencoderDCBlock(type: String, channels: Int, headDim: Int, kernelSizes: [Int], activation: SanaActivation,
                        _ vb: ParameterBuilder) -> any AutoencoderDCLayer {
    if type == "ResBlock" { return AutoencoderDCResBlock(channels: channels, activation: activation, vb) }
    return EfficientViTBlock(channels: channels, headDim: headDim, kernelSizes: kernelSizes, vb)
}

/// diffusers' `ResBlock` with `rms_norm`: y = x + RMSNorm_C(conv₃ₓ₃(act(conv₃ₓ₃(x)))), the second
/// convolution without bias, the norm over channels with weight and bias (ε = 1e-5).
final class AutoencoderDCResBlock: AutoencoderDCLayer {
    let conv1: Conv2d, conv2: Conv2d, norm: RMSNorm
    let activation: SanaActivation

    init(channels: Int, activation: SanaActivation, _ vb: ParameterBuilder) {
        conv1 = Conv2d(inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1, vb.scoped("conv1"))
        conv2 = Conv2d(inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1, bias: false, vb.scoped("conv2"))
        norm = RMSNorm(dimension: channels, eps: 1e-5, bias: true, vb.scoped("norm"))
        self.activation = activation
    }

    var submodules: [String: any Module] { ["conv1": conv1, "conv2": conv2, "norm": norm] }

    func callAsFunction(_ x: Tensor) -> Tensor { norm.channelsFirst(conv2(activation(conv1(x)))) + x }
}
