/// Reverse-mode differentiation over the tape recorded by ``Tensor/record(_:result:inputs:pullback:)``.
public enum Autodiff {
    /// Nodes reachable from `root`, ordered so that every node comes before its inputs.
    static func reverseTopologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative post-order DFS: deep tapes must not overflow the stack.
        var stack: [(GradNode, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, next) = stack.popLast() {
            if next < node.inputs.count {
                stack.append((node, next + 1))
                if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order.reversed()
    }

    /// Propagates `seed` (the gradient of some scalar with respect to `output`) through the tape
    /// and returns the gradient reaching every node, keyed by node identity.
    static func propagate(from output: Tensor, seed: Tensor) -> (grads: [ObjectIdentifier: Tensor], order: [GradNode]) {
        guard let root = output.gradNode else { return ([:], []) }
        precondition(seed.shape == output.shape, "seed shape \(seed.shape) differs from output shape \(output.shape)")
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        // Gradient buffers allocated here and referenced by nothing else: slices add into them in place.
        var owned = Set<ObjectIdentifier>()
        let order = reverseTopologicalOrder(from: root)
        withoutGrad {
            for node in order {
                guard let pullback = node.pullback else { continue }
                guard let g = grads[ObjectIdentifier(node)] else { continue }
                // Intermediate gradients are dropped as soon as they are used.
                grads[ObjectIdentifier(node)] = nil
                owned.remove(ObjectIdentifier(node))
                if let region = node.sliceRegion {
                    if let input = node.inputs[0] { accumulate(g, in: region, key: ObjectIdentifier(input), &grads, &owned) }
                    continue
                }
                let inputGrads = pullback(g)
                precondition(inputGrads.count == node.inputs.count,
                             "\(node.name): pullback returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, grad) in zip(node.inputs, inputGrads) {
                    guard let input, let grad else { continue }
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] {
                        grads[key] = existing + grad
                        owned.insert(key)
                    } else {
                        grads[key] = grad
                    }
                }
            }
        }
        return (grads, order)
    }

    /// Adds a slice's gradient into its input's gradient buffer, allocating (zeros) or copying
    /// (when the current buffer may be shared) at most once per input.
    private static func accumulate(_ g: Tensor, in region: SliceRegion, key: ObjectIdentifier,
                                   _ grads: inout [ObjectIdentifier: Tensor], _ owned: inout Set<ObjectIdentifier>) {
        if !owned.contains(key) {
            let count = region.inputShape.elementCount
            let buffer = TensorStorage(count: count, repeating: 0)
            if let existing = grads[key] {
                existing.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: count) }
            }
            grads[key] = Tensor(shape: region.inputShape, storage: buffer)
            owned.insert(key)
        }
        region.accumulate(g, into: grads[key]!.storage.pointer)
    }

    /// The gradients of `output` (a scalar unless `seed` is given) with respect to each of
    /// `inputs`; `nil` where an input does not influence the output.
    public static func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil) -> [Tensor?] {
        let grads = propagate(from: output, seed: seed ?? Tensor.ones(like: output)).grads
        return inputs.map { t in t.gradNode.flatMap { grads[ObjectIdentifier($0)] } }
    }
}

extension Tensor {
    /// Accumulates into every reachable leaf (``grad``) the gradient of this tensor, seeded
    /// with `seed` (ones by default, so a scalar loss needs no argument). Calling it several
    /// times, for example over micro-batches, adds the gradients up.
    public func backward(_ seed: Tensor? = nil) {
        precondition(gradNode != nil, "backward() on a tensor that does not require a gradient")
        if seed == nil { precondition(elementCount == 1, "backward() without a seed needs a scalar, shape is \(shape)") }
        let (grads, order) = Autodiff.propagate(from: self, seed: seed ?? Tensor.ones(like: self))
        for node in order where node.isLeaf {
            guard let g = grads[ObjectIdentifier(node)] else { continue }
            node.grad = withoutGrad { node.grad.map { $0 + g } ?? g }
        }
    }
}
