import CCurl
import Foundation
import Synchronization

/// The dedicated thread that drives one curl multi handle, and the inbox other threads post work to.
///
/// Every libcurl call except `curl_multi_wakeup` happens on this thread, so neither libcurl's
/// per-handle rules nor blocking `curl_multi_poll` ever touch Swift's cooperative pool.
final class CurlLoop: Sendable {
    private enum Command: Sendable {
        case start(Submission)
        case cancel(UInt64)
    }

    private enum Phase {
        case running, stopping, stopped
    }

    private struct Inbox {
        var commands: [Command] = []
        var phase = Phase.running
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The `CURLM *`, shared only so that other threads can wake the loop.
    ///
    /// `@unchecked Sendable` is safe because off the loop thread the pointer is used for nothing but
    /// `curl_multi_wakeup` (documented thread-safe), and only while holding the inbox lock with the
    /// phase `.running`; the loop thread destroys the handle only after setting `.stopped` under that lock.
    private struct MultiHandle: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
    }

    private let inbox = Mutex(Inbox())
    private let multi: MultiHandle

    /// Creates the multi handle and starts the thread.
    init() {
        Curl.initializeOnce()
        guard let raw = curl_multi_init() else { preconditionFailure("curl_multi_init failed (out of memory)") }
        multi = MultiHandle(raw: raw)
        let thread = Thread { [self] in run() }
        thread.name = "nightshift-curl"
        thread.start()
    }

    /// Queues a request; after shutdown it fails at once with kind `.cancelled`.
    func submit(_ submission: Submission) {
        let accepted = inbox.withLock { inbox in
            guard inbox.phase == .running else { return false }
            inbox.commands.append(.start(submission))
            curl_multi_wakeup(multi.raw)
            return true
        }
        if !accepted {
            submission.continuation.resume(throwing: Self.shutDownError(submission.request))
        }
    }

    /// Asks the loop to drop a transfer whose task was cancelled.
    func cancel(id: UInt64) {
        inbox.withLock { inbox in
            guard inbox.phase == .running else { return }
            inbox.commands.append(.cancel(id))
            curl_multi_wakeup(multi.raw)
        }
    }

    /// Asks the loop to fail everything in flight and exit; returns at once.
    func requestStop() {
        inbox.withLock { inbox in
            guard inbox.phase == .running else { return }
            inbox.phase = .stopping
            curl_multi_wakeup(multi.raw)
        }
    }

    /// Returns once the loop has failed every request and exited.
    func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let stopped = inbox.withLock { inbox in
                if inbox.phase != .stopped { inbox.stopWaiters.append(continuation) }
                return inbox.phase == .stopped
            }
            if stopped { continuation.resume() }
        }
    }

    private func run() {
        let curl = CurlMulti(handle: multi.raw)
        while true {
            let (commands, stopping) = inbox.withLock { inbox in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return (inbox.commands, inbox.phase != .running)
            }
            for command in commands {
                switch command {
                case .start(let submission): curl.start(submission)
                case .cancel(let id): curl.cancel(id: id)
                }
            }
            if stopping { break }
            curl.perform()
            // The timeout only bounds a sleep; new work and cancellations wake the poll early.
            curl.poll(timeoutMilliseconds: 1000)
        }
        // No command can arrive after this: submit, cancel and requestStop all check the phase.
        let (leftovers, waiters) = inbox.withLock { inbox in
            inbox.phase = .stopped
            defer { inbox.commands = []; inbox.stopWaiters = [] }
            return (inbox.commands, inbox.stopWaiters)
        }
        for case .start(let submission) in leftovers {
            submission.continuation.resume(throwing: Self.shutDownError(submission.request))
        }
        curl.failAll { $0.fail(kind: .cancelled, "the HTTP client was shut down") }
        curl.close()
        for waiter in waiters { waiter.resume() }
    }

    private static func shutDownError(_ request: HTTPRequest) -> HTTPClientError {
        HTTPClientError(kind: .cancelled, method: request.method, url: request.url, message: "the HTTP client was shut down")
    }
}
