import Foundation
import Synchronization

/// Where JSON log lines go. Writes are whole lines under a lock so concurrent loggers never interleave.
public final class LogSink: Sendable {
    private let handle: Mutex<FileHandle>

    /// Writes to `handle` (a file, or a pipe a test reads); the sink does not close it.
    public init(_ handle: FileHandle) {
        self.handle = Mutex(handle)
    }

    /// Standard error, where logs belong so that standard output stays for command results.
    public static let standardError = LogSink(.standardError)

    func write(_ data: Data) {
        handle.withLock { $0.write(data) }
    }
}
