import Foundation
import Postgres

extension Worker {
    /// Answers a batch of notifications on the listener's thread. Runs of functions without a
    /// concurrency limit are claimed right here, on the listener's own connection, whose backend
    /// just sent the NOTIFY and is awake (`nightshift.claim_unlimited_runs`), and left in the inbox
    /// for the claim loop to start. Everything else goes to the claim loop, as does what this
    /// claim may have left: more than one claim's worth, limited runs, a retry due later (whose
    /// timer the claim loop arms), a failed claim.
    func answer(_ notifications: [PostgresNotification], on session: borrowing PostgresListenerSession, probe: String) {
        var notified: [String] = []
        for notification in notifications {
            if notification.channel == DefinedFunctions.channel {
                reloads.signal()
            } else if notification.payload != probe {
                notified.append(notification.payload)
            }
        }
        guard !notified.isEmpty else { return }
        options.pickupObserver?(.notified, Date())
        let unlimited = Set(notified.filter { function($0)?.concurrency == .unlimited })
        guard options.claimOnNotification, !unlimited.isEmpty, inbox.isOpen else { return requestClaim() }
        let wanted = inFlightRuns.reserve(upTo: options.claimBatch, of: options.concurrency)
        // No slot free: the next run to finish asks for a claim.
        guard wanted > 0 else { return backlog.mark() }
        let claimed: [ClaimedRun]
        do {
            claimed = try claimUnlimited(wanted, of: Array(unlimited), on: session)
        } catch {
            inFlightRuns.unreserve(wanted)
            logger.warning("claim on a notification failed; the claim loop claims instead", metadata: ["error": "\(error)"])
            return requestClaim()
        }
        options.pickupObserver?(.claimedOnNotification(claimed.map(\.id)), Date())
        inFlightRuns.unreserve(wanted - claimed.count)
        if !claimed.isEmpty {
            if inbox.deposit(claimed) {
                wake.signal()
            } else {
                // The claim loop has ended (shutdown): these runs go straight back to the queue.
                inFlightRuns.unreserve(claimed.count)
                handBack(claimed, on: session)
            }
        }
        // One notification per new run, at least (enqueue_many sends one for many): fewer runs
        // than notifications means some were not due yet, or not for this claim.
        let unlimitedNotifications = notified.count { unlimited.contains($0) }
        if unlimited.count < Set(notified).count || claimed.count == wanted || claimed.count < unlimitedNotifications {
            requestClaim()
        }
    }

    /// Readies a new listener connection for the claims above: runs the claim once for no runs,
    /// which compiles `claim_unlimited_runs` in its backend and loads the catalog entries it
    /// reads. Without this the connection's first pickup paid for them (2–7 ms measured).
    func primeClaims(on session: borrowing PostgresListenerSession) {
        guard options.claimOnNotification else { return }
        do {
            _ = try claimUnlimited(0, of: functionIDs, on: session)
        } catch {
            logger.warning("could not ready the listener's connection for claims; its first claim will", metadata: ["error": "\(error)"])
        }
    }

    /// Claims up to `count` queued runs of `functionIDs` without a concurrency limit, on the
    /// listener's connection.
    private func claimUnlimited(_ count: Int, of functionIDs: [String], on session: borrowing PostgresListenerSession) throws -> [ClaimedRun] {
        try ClaimedRun.decode(session.query(.prepared("""
            select c.*\(unescaped: options.bookkeepingCommits.selectSuffix)
            from nightshift.claim_unlimited_runs(\(options.workerID), \(count)::int, \(options.leaseInterval)::interval, \(functionIDs)) c
            """)))
    }

    private func handBack(_ runs: [ClaimedRun], on session: borrowing PostgresListenerSession) {
        do {
            try session.query("select nightshift.release_runs(\(runs.map(\.id)), \(runs.map { Int($0.leaseToken) }))")
            logger.info("runs claimed during shutdown handed back to the queue", metadata: ["runs": "\(runs.count)"])
        } catch {
            logger.error("could not hand runs back; they resume when their leases expire", metadata: ["error": "\(error)"])
        }
    }
}
