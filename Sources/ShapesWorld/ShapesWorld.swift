// Replaced by the ShapesWorld implementation.
import UniRLTensor
