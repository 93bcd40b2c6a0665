// Replaced by the Core implementation.
import UniRLTensor
