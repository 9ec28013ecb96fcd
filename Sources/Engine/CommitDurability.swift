/// How the engine's own bookkeeping commits: a claim and a `step.run` checkpoint.
///
/// A commit that waits for its WAL flush costs a disk sync (0.5–3 ms here), more than the
/// whole round trip. Neither write needs it for correctness: a claim lost in a database crash
/// leaves its run queued, and the worker that had it is fenced off (its lease token no longer
/// exists); a lost `step.run` checkpoint makes the step run again, which an at-least-once
/// step allows anyway (it does the same when the worker dies between the body and the
/// checkpoint). Everything that must survive commits synchronously: triggers, events,
/// completions, failures, sleeps and `step.transaction` (user data). Because WAL is flushed in
/// order, a completed run's checkpoints are always on disk with it.
public enum CommitDurability: Sendable {
    /// Bookkeeping commits without waiting for the flush (the default).
    case asynchronous
    /// Every commit waits for its flush.
    case synchronous

    /// A select-list item that makes the statement's (implicit) transaction commit
    /// asynchronously. `set_config(…, true)` lasts until the transaction ends, and the commit
    /// record is written before settings are reset, so it applies to this very commit.
    var selectSuffix: String {
        switch self {
        case .asynchronous: ", pg_catalog.set_config('synchronous_commit', 'off', true)"
        case .synchronous: ""
        }
    }
}
