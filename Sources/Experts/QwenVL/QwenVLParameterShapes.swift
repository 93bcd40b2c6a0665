import UniRLTensor

extension QwenVLConfiguration {
    /// Every parameter's name (hub layout) and shape, declared by building the model shape-only
    /// (``ParameterBuilder/shapesOnly()``), so real-scale configurations are listed without
    /// allocating them; a tied head has no `lm_head.weight`.
    public func parameterShapes() -> [String: [Int]] {
        let vb = ParameterBuilder.shapesOnly()
        _ = QwenVLForConditionalGeneration(self, vb)
        return vb.declaredShapes
    }

    /// Total parameter count (a tied head counted once).
    public func parameterCount() -> Int { parameterShapes().values.reduce(0) { $0 + $1.reduce(1, *) } }
}
