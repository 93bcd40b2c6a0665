import Testing
@testable import UniRLCore

/// Advantages against numbers computed by hand (python: (r − mean) / (std(ddof=1) + 1e-4)).
@Suite struct GroupAdvantageTests {
    let groups = [0, 0, 0, 0, 1, 1, 1, 1]
    let rewards: [SampleReward] = [1, 2, 3, 4, 0, 0, 1, 1].map { .score($0) }

    func compute(_ rewards: [SampleReward], _ groups: [Int], _ scaling: AdvantageScaling = .groupStd,
                 clip: Float? = nil, drop: Bool = false) -> GroupAdvantageResult {
        var tracker = PerPromptStatTracker()
        return GroupAdvantage.compute(rewards: rewards, groups: groups, scaling: scaling, clip: clip,
                                      dropZeroStdGroups: drop, tracker: &tracker, promptKeys: groups.map(String.init))
    }

    @Test func groupStd() {
        let r = compute(rewards, groups)
        assertClose(r.advantages, [-1.161805010833055, -0.3872683369443517, 0.3872683369443517, 1.161805010833055,
                                   -0.8658754297607016, -0.8658754297607016, 0.8658754297607016, 0.8658754297607016])
        #expect(r.included.allSatisfy { $0 })
        #expect(r.groupCount == 2 && r.zeroStdGroupCount == 0 && r.droppedGroupCount == 0)
    }

    @Test func noStd() {
        let r = compute(rewards, groups, .noStd)
        assertClose(r.advantages, [-1.5, -0.5, 0.5, 1.5, -0.5, -0.5, 0.5, 0.5])
    }

    @Test func batchStd() {
        // One std over all eight rewards: √2.
        let r = compute(rewards, groups, .batchStd)
        assertClose(r.advantages, [-1.060585177082747, -0.3535283923609157, 0.3535283923609157, 1.060585177082747,
                                   -0.3535283923609157, -0.3535283923609157, 0.3535283923609157, 0.3535283923609157])
    }

    @Test func clipping() {
        let r = compute((0..<8).map { .score($0 == 7 ? 10 : 0) }, Array(repeating: 0, count: 8), clip: 2)
        // Unclipped: 2.4748037361327593 and −0.3535433908761084.
        assertClose(r.advantages[7], 2)
        assertClose(r.advantages[0], -0.3535433908761084)
        #expect(r.clippedCount == 1)
        let unclipped = compute((0..<8).map { .score($0 == 7 ? 10 : 0) }, Array(repeating: 0, count: 8), clip: 0)
        assertClose(unclipped.advantages[7], 2.4748037361327593)
    }

    @Test func failedAndUnscoredSamples() {
        // Group 0: scored {1, 3} → mean 2, std √2; the failed sample is dropped, the unscored one gets A = 0.
        // Group 1: only one scored sample → the whole group contributes nothing.
        let r = compute([.score(1), .failed, .score(3), .notApplicable, .score(5), .failed, .notApplicable, .notApplicable],
                        groups)
        assertClose(r.advantages, [-0.7070567847218314, 0, 0.7070567847218314, 0, 0, 0, 0, 0])
        #expect(r.included == [true, false, true, true, false, false, false, false])
        #expect(r.droppedGroupCount == 1)
    }

    @Test func zeroStdGroupsAreCountedAndOptionallyDropped() {
        let rs: [SampleReward] = [2, 2, 2, 2, 0, 1, 0, 1].map { .score($0) }
        let kept = compute(rs, groups)
        #expect(kept.zeroStdGroupCount == 1)
        #expect(kept.included == Array(repeating: true, count: 8))
        #expect(kept.advantages[0..<4].allSatisfy { $0 == 0 })
        let dropped = compute(rs, groups, drop: true)
        #expect(dropped.included == [false, false, false, false, true, true, true, true])
    }

    @Test func perPromptTracker() {
        var t = PerPromptStatTracker(bufferSize: 4, minimumCount: 3)
        // Too few rewards per prompt: the batch's mean 1.5 and population std √1.25.
        let s1 = t.update(keys: ["a", "a", "b", "b"], rewards: [1, 3, 0, 2])
        for s in s1 { assertClose(s.mean, 1.5); assertClose(s.std, 1.118033988749895) }
        // "a" now has 4 rewards [1, 3, 5, 7]: its own mean 4 and std √5.
        let s2 = t.update(keys: ["a", "a"], rewards: [5, 7])
        assertClose(s2[0].mean, 4); assertClose(s2[0].std, 2.23606797749979)
        // The buffer keeps the newest 4: [5, 7, 9, 11].
        let s3 = t.update(keys: ["a", "a"], rewards: [9, 11])
        assertClose(s3[0].mean, 8); assertClose(s3[0].std, 2.23606797749979)
        #expect(t.buffers["a"] == [5, 7, 9, 11])

        var tracker = PerPromptStatTracker(bufferSize: 4, minimumCount: 3)
        let r = GroupAdvantage.compute(rewards: [1, 3, 0, 2].map { .score($0) }, groups: [0, 0, 1, 1],
                                       scaling: .perPromptTracker, clip: nil, tracker: &tracker, promptKeys: ["a", "a", "b", "b"])
        assertClose(r.advantages, [-0.4471735990773467, 1.3415207972320402, -1.3415207972320402, 0.4471735990773467])
    }
}
