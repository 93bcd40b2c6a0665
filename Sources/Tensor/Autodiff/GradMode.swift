/// Whether new operations are recorded on the autodiff tape.
///
/// Recording is on by default. Sampling and evaluation run inside ``withoutGrad(_:)`` so that
/// no tape is built and no intermediate tensors are kept alive.
public enum GradMode {
    @TaskLocal public static var isEnabled: Bool = true
}

/// Runs `body` with gradient recording turned off.
@inlinable
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false) { try body() }
}
