import Foundation
import Synchronization

/// A serial executor that runs every job on one dedicated thread, so blocking libpq calls made by
/// an actor using it never occupy Swift's cooperative thread pool.
///
/// `@unchecked Sendable`: the job queue and the stop flag are only touched under `condition`'s lock;
/// `threadID` is written once by the worker thread before it takes any job and only read to
/// answer isolation checks.
final class PostgresThreadExecutor: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var threadID: pthread_t?
    /// Jobs enqueued and not yet taken, readable without the lock so the thread can spin on it.
    private let pending = Atomic<Int>(0)

    /// Starts the thread; it exits after `shutdown()` once the queued jobs ran.
    init(name: String) {
        let thread = Thread { [self] in self.runLoop(name: name) }
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        pending.add(1, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets `assumeIsolated` and runtime checks confirm they run on this executor's thread.
    func checkIsolated() {
        precondition(isOnExecutorThread, "not on the PostgresConnection's thread")
    }

    /// Whether the caller runs on this executor's thread.
    var isOnExecutorThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return threadID.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    /// Lets the thread finish the queued jobs and exit.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// A caller awaiting query after query enqueues the next one a few microseconds after the
    /// previous result was handed back. Watching for it briefly before sleeping on the condition
    /// saves a thread wake-up per query, most of the wrapper's cost over libpq for short queries.
    private func spinBriefly() {
        let deadline = DispatchTime.now().uptimeNanoseconds + 30_000
        var spins = 0
        while pending.load(ordering: .acquiring) == 0 {
            spins += 1
            if spins & 63 == 0, DispatchTime.now().uptimeNanoseconds > deadline { return }
        }
    }

    private func runLoop(name: String) {
        // Named from inside the thread, where Foundation also sets the OS-level name (debuggers, `top -H`).
        Thread.current.name = name
        condition.lock()
        threadID = pthread_self()
        condition.unlock()
        var batch: [UnownedJob] = []
        while true {
            spinBriefly()
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            // Swap the queues so enqueuers never wait for jobs to run.
            swap(&batch, &jobs)
            pending.subtract(batch.count, ordering: .relaxed)
            condition.unlock()
            let executor = asUnownedSerialExecutor()
            for job in batch { job.runSynchronously(on: executor) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
