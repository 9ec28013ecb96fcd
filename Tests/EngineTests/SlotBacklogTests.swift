import Testing

@testable import Engine

@Suite("SlotBacklog: a drained claim clears only the marks made before it started")
struct SlotBacklogTests {
    @Test("a mark made during a claim outlives that claim's clear; a stale clear changes nothing")
    func clearsOnlyEarlierMarks() {
        let backlog = SlotBacklog()
        #expect(!backlog.isMarked)
        backlog.mark()
        let beforeFirstClaim = backlog.current
        backlog.mark()  // a NOTIFY refused for want of a slot while that claim ran
        backlog.clear(upTo: beforeFirstClaim)
        #expect(backlog.isMarked)
        let beforeSecondClaim = backlog.current
        backlog.clear(upTo: beforeSecondClaim)
        #expect(!backlog.isMarked)
        // A slower claim that started before the second one finishes last: it clears nothing new.
        backlog.clear(upTo: beforeFirstClaim)
        #expect(!backlog.isMarked)
        backlog.mark()
        #expect(backlog.isMarked)
    }
}
