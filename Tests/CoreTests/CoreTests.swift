import Testing
@testable import UniRLCore
