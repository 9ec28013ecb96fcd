import CCurl

/// The loop thread's view of the multi handle: which transfers are running, and driving them.
///
/// Not `Sendable`: `CurlLoop.run` creates it and only the loop thread ever touches it.
final class CurlMulti {
    private let handle: UnsafeMutableRawPointer
    /// Keeps every transfer alive while libcurl holds its easy handle (callbacks use unretained pointers).
    private var transfers: [UnsafeMutableRawPointer: Transfer] = [:]
    private var handlesByID: [UInt64: UnsafeMutableRawPointer] = [:]

    init(handle: UnsafeMutableRawPointer) {
        self.handle = handle
    }

    /// Starts a submitted request, or fails it at once if it is already cancelled or cannot be sent.
    func start(_ submission: Submission) {
        let transfer = Transfer(submission)
        if transfer.cancellation.isRaised {
            return transfer.fail(CancellationError())
        }
        do {
            try transfer.configure()
        } catch {
            return transfer.fail(error)
        }
        let code = curl_multi_add_handle(handle, transfer.handle)
        guard code == CURLM_OK else {
            return transfer.fail(kind: .transport(Int(CURLE_FAILED_INIT.rawValue)), "curl_multi_add_handle: \(Curl.describe(code))")
        }
        transfers[transfer.handle] = transfer
        handlesByID[transfer.id] = transfer.handle
    }

    /// Removes a transfer whose task was cancelled; an unknown id finished already or has not arrived yet
    /// (then `start` sees the raised flag).
    func cancel(id: UInt64) {
        guard let easy = handlesByID[id] else { return }
        remove(easy)?.fail(CancellationError())
    }

    /// Lets libcurl make progress on every transfer, then hands finished ones their result.
    func perform() {
        var running: Int32 = 0
        let code = curl_multi_perform(handle, &running)
        guard code == CURLM_OK else {
            // Only out-of-memory or a libcurl bug gets here; nothing in flight can be trusted to finish.
            return failAll { $0.fail(kind: .transport(Int(CURLE_OUT_OF_MEMORY.rawValue)), "curl_multi_perform: \(Curl.describe(code))") }
        }
        var queued: Int32 = 0
        while let message = curl_multi_info_read(handle, &queued) {
            // Copy what is needed first: the message is invalid once its handle is removed.
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let result = message.pointee.data.result
            remove(easy)?.complete(result)
        }
    }

    /// Sleeps until a socket is ready, curl's own timer fires, `curl_multi_wakeup` is called, or the timeout.
    func poll(timeoutMilliseconds: Int32) {
        _ = curl_multi_poll(handle, nil, 0, timeoutMilliseconds, nil)
    }

    /// Removes every transfer and lets `body` fail it.
    func failAll(_ body: (Transfer) -> Void) {
        for easy in Array(transfers.keys) {
            if let transfer = remove(easy) { body(transfer) }
        }
    }

    /// Destroys the multi handle; call once, after `failAll`, when no other thread can wake it.
    func close() {
        precondition(transfers.isEmpty, "close() with transfers still running")
        curl_multi_cleanup(handle)
    }

    private func remove(_ easy: UnsafeMutableRawPointer) -> Transfer? {
        guard let transfer = transfers.removeValue(forKey: easy) else { return nil }
        handlesByID[transfer.id] = nil
        curl_multi_remove_handle(handle, easy)
        return transfer
    }
}
