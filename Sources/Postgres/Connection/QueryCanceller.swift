import CLibPQ
import Synchronization

/// Sends libpq's cancel request for a connection from any thread, while the connection's own
/// thread is blocked in the statement to be cancelled. `PQcancel` is documented thread-safe; the
/// `PGcancel` object is created and freed under the same lock that guards its use, so a cancel
/// never touches a freed object.
final class QueryCanceller: Sendable {
    /// The `PGcancel` as an address: raw pointers are not `Sendable`, the lock makes its use safe.
    private let cancel = Mutex<UInt?>(nil)
    /// Requests sent since the connection opened; a connection that got one is not reused
    /// (a request may reach the server after the statement it was meant for ended).
    private let sent = Atomic<Int>(0)

    /// Creates the cancel object of a freshly opened connection.
    func attach(_ connection: OpaquePointer) {
        let object = PQgetCancel(connection).map { UInt(bitPattern: $0) }
        cancel.withLock { $0 = object }
    }

    /// Frees the cancel object; later requests are no-ops.
    func detach() {
        cancel.withLock { object in
            if let address = object, let pointer = OpaquePointer(bitPattern: address) { PQfreeCancel(pointer) }
            object = nil
        }
    }

    /// Asks the server to cancel whatever this connection runs now. Blocks briefly (it opens a
    /// separate connection to the server), so it runs on the caller's thread, never the connection's.
    @discardableResult
    func request() -> Bool {
        cancel.withLock { object in
            guard let address = object, let pointer = OpaquePointer(bitPattern: address) else { return false }
            sent.add(1, ordering: .relaxed)
            var buffer = [CChar](repeating: 0, count: 256)
            return PQcancel(pointer, &buffer, Int32(buffer.count)) == 1
        }
    }

    /// Whether a cancel request was ever sent for this connection.
    var wasUsed: Bool { sent.load(ordering: .relaxed) > 0 }
}
