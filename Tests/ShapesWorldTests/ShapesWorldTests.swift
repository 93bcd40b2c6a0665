import Testing
@testable import UniRLShapesWorld
