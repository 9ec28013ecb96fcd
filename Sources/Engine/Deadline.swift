/// Fails with `DeadlineExceeded` when `body` takes longer than `limit` (and cancels it).
public func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// The error of `withDeadline`.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    /// The limit that was exceeded.
    public let limit: Duration
    public var description: String { "no answer within \(limit)" }
}
