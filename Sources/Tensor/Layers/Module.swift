/// A node of a model's parameter tree.
///
/// A module lists its own parameters and its sub-modules under the names the reference
/// checkpoints use, so full names come out as in PyTorch
/// (`model.layers.0.self_attn.q_proj.weight`). Names are declared once, in these two lists.
public protocol Module: AnyObject {
    /// This module's own parameters by local name (e.g. `"weight"`).
    var parameters: [String: Parameter] { get }
    /// Child modules by local name (e.g. `"self_attn"`, or `"0"` inside a ``ModuleList``).
    var submodules: [String: any Module] { get }
}

extension Module {
    public var parameters: [String: Parameter] { [:] }
    public var submodules: [String: any Module] { [:] }

    /// Every parameter below this module with its dotted full name, sorted by name.
    public func namedParameters(prefix: String = "") -> [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = parameters.map { (prefix + $0.key, $0.value) }
        for (name, child) in submodules {
            out += child.namedParameters(prefix: prefix + name + ".")
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Parameters whose value the optimizer should update.
    public func trainableParameters() -> [(name: String, parameter: Parameter)] {
        namedParameters().filter { $0.parameter.isTrainable }
    }

    /// The sub-module at a dotted path, e.g. `"layers.3.mlp"`.
    public func submodule(at path: String) -> (any Module)? {
        var current: any Module = self
        for part in path.split(separator: ".") {
            guard let next = current.submodules[String(part)] else { return nil }
            current = next
        }
        return current
    }

    /// Stops (or resumes) training of every parameter below this module; ``Parameter/bfloat16``
    /// weights stay frozen (they have no `Float` master copy to train).
    public func freeze(_ frozen: Bool = true) {
        for (_, p) in namedParameters() where p.bfloat16 == nil { p.isTrainable = !frozen }
    }

    /// Total number of scalars in the parameters (only trainable ones if asked).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        namedParameters().filter { !trainableOnly || $0.parameter.isTrainable }.reduce(0) { $0 + $1.parameter.shape.reduce(1, *) }
    }

    public func zeroGrad() { for (_, p) in namedParameters() { p.zeroGrad() } }

    /// Parameter values by full name (shares storage; values are immutable).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.name, $0.parameter.value.detached()) })
    }
}

/// An ordered list of modules named `"0"`, `"1"`, … like PyTorch's `nn.ModuleList`.
public final class ModuleList<Element: Module>: Module {
    public let items: [Element]
    public init(_ items: [Element]) { self.items = items }
    public var submodules: [String: any Module] {
        Dictionary(uniqueKeysWithValues: items.enumerated().map { (String($0.offset), $0.element as any Module) })
    }
    public var count: Int { items.count }
    public subscript(i: Int) -> Element { items[i] }
}

/// A module that only names its children and parameters, for reference layouts that nest them
/// under container names (PyTorch's `nn.Sequential` indices `mlp.0`, `mlp.2`; a bare `proj.weight`).
public final class ModuleDictionary: Module {
    public let submodules: [String: any Module]
    public let parameters: [String: Parameter]

    public init(_ submodules: [String: any Module] = [:], parameters: [String: Parameter] = [:]) {
        self.submodules = submodules
        self.parameters = parameters
    }
}
