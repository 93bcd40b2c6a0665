/// The element types a safetensors file can declare, spelled as in the file header.
///
/// The cases follow the reference implementation's `Dtype` enum. ``SafeTensorsFile`` can
/// validate every one of them, but converts only the common numeric types to `Float`
/// (see ``SafeTensorsFile/tensor(named:)``).
public enum SafeTensorsDType: String, Sendable, CaseIterable, Hashable {
    case BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ
    case I16, U16, F16, BF16
    case I32, U32, F32
    case C64, F64, I64, U64

    /// Bits per element (4 and 6 for the packed micro-scaling formats).
    public var bitSize: Int {
        switch self {
        case .F4: 4
        case .F6_E2M3, .F6_E3M2: 6
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0, .F8_E4M3FNUZ, .F8_E5M2FNUZ: 8
        case .I16, .U16, .F16, .BF16: 16
        case .I32, .U32, .F32: 32
        case .C64, .F64, .I64, .U64: 64
        }
    }

    /// Bytes per element, or `nil` for the sub-byte types (`F4`, `F6_*`).
    public var byteSize: Int? { bitSize % 8 == 0 ? bitSize / 8 : nil }

    /// The position in the reference implementation's `Dtype` enum, which is ordered by
    /// increasing alignment. Writers sort tensors by this, descending, then by name.
    var alignmentRank: Int {
        // allCases is declared in the reference order.
        Self.allCases.firstIndex(of: self) ?? 0
    }
}
