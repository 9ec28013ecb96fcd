import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("PostgresListener delivers NOTIFY as an AsyncSequence and survives reconnects", .timeLimit(.minutes(1)))
struct ListenerTests {
    /// The next event matching `predicate`, skipping others; nil when the sequence ended (see `watchdog`).
    func next(
        _ iterator: inout PostgresListener.AsyncIterator,
        where predicate: (PostgresListenerEvent) -> Bool
    ) async -> PostgresListenerEvent? {
        while let event = await iterator.next() {
            if predicate(event) { return event }
        }
        return nil
    }

    @Test("a NOTIFY's payload arrives after .listening")
    func deliversPayload() async throws {
        let channel = uniqueName("Channel With Spaces")
        let listener = PostgresListener(configuration: TestDatabase.configuration(), channels: [channel])
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        #expect(await events.next() == .listening)
        try await withTestConnection { connection async throws in
            try await connection.notify(channel: channel, payload: "{\"run\": 1}")
            try await connection.notify(channel: "other_channel", payload: "ignored")
            try await connection.notify(channel: channel, payload: "second")
        }
        guard case .notification(let first) = await events.next() else {
            Issue.record("no notification")
            return
        }
        #expect(first.channel == channel)
        #expect(first.payload == "{\"run\": 1}")
        #expect(first.pid > 0)
        guard case .notification(let second) = await events.next() else {
            Issue.record("no notification")
            return
        }
        #expect(second.payload == "second")
        listener.stop()
        #expect(await events.next() == nil)
    }

    @Test("after pg_terminate_backend it reconnects, re-LISTENs and still receives")
    func survivesTermination() async throws {
        let name = uniqueName("listener")
        let channel = uniqueName("jobs")
        let errors = Errors()
        let listener = PostgresListener(
            configuration: TestDatabase.configuration(applicationName: name),
            channels: [channel],
            onConnectionError: { errors.append($0) }
        )
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        #expect(await events.next() == .listening)
        #expect(try await terminateBackends(applicationName: name) == 1)
        #expect(await next(&events) { $0 == .listening } == .listening)
        #expect(errors.sqlStates.contains("57P01"))
        try await withTestConnection { try await $0.notify(channel: channel, payload: "after reconnect") }
        let event = await next(&events) { if case .notification = $0 { true } else { false } }
        #expect(event == .notification(PostgresNotification(channel: channel, payload: "after reconnect", pid: pid(of: event))))
        listener.stop()
    }

    @Test("channels can be added while running, and stopping closes the connection")
    func addChannelAndStop() async throws {
        let name = uniqueName("listener_add")
        let channel = uniqueName("late")
        let listener = PostgresListener(configuration: TestDatabase.configuration(applicationName: name), channels: [])
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        #expect(await events.next() == .listening)
        listener.listen(channel)
        #expect(await events.next() == .listening)
        try await withTestConnection { try await $0.notify(channel: channel, payload: "hi") }
        guard case .notification(let note) = await events.next() else {
            Issue.record("no notification")
            return
        }
        #expect(note.payload == "hi")
        listener.stop()
        #expect(await events.next() == nil)
        // The backend disappears once the thread notices the stop (one poll interval).
        var remaining = 1
        for _ in 0..<50 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(50))
            remaining = try await withTestConnection { connection async throws in
                try await connection.query("select count(*) from pg_stat_activity where application_name = \(name)")[0]
                    .decode(Int.self, at: 0)
            }
        }
        #expect(remaining == 0)
    }

    @Test("leaving the loop ends the listener")
    func breakStops() async throws {
        let name = uniqueName("listener_break")
        let listener = PostgresListener(configuration: TestDatabase.configuration(applicationName: name), channels: ["x"])
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        for await event in listener {
            #expect(event == .listening)
            break
        }
        var remaining = 1
        for _ in 0..<50 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(50))
            remaining = try await withTestConnection { connection async throws in
                try await connection.query("select count(*) from pg_stat_activity where application_name = \(name)")[0]
                    .decode(Int.self, at: 0)
            }
        }
        #expect(remaining == 0)
    }

    @Test("onNotifications answers each batch on the listener's own connection; what it sends makes the next batch")
    func answersOnItsConnection() async throws {
        let channel = uniqueName("answered")
        let batches = Mutex<[(payloads: [String], senders: [Int], answeredBy: Int, idle: [Bool])]>([])
        let failures = Mutex<[PostgresError]>([])
        let listener = PostgresListener(
            configuration: TestDatabase.configuration(), channels: [channel],
            onNotifications: { notifications, session in
                do {
                    let own = try session.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
                    if notifications.contains(where: { $0.payload == "ping" }) {
                        // Committed by the session's own statement: delivered to itself, in a later batch.
                        try session.query("select pg_notify(\(channel), 'pong')")
                        // A failing statement throws and leaves the connection usable.
                        do {
                            try session.query("select 1/0")
                        } catch let error as PostgresError {
                            failures.withLock { $0.append(error) }
                        }
                    }
                    batches.withLock { $0.append((notifications.map(\.payload), notifications.map(\.pid), own, notifications.map(\.arrivedWhileIdle))) }
                } catch {
                    Issue.record("session query failed: \(error)")
                }
            })
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        #expect(await events.next() == .listening)
        try await withTestConnection { try await $0.notify(channel: channel, payload: "ping") }
        let pong = await next(&events) { if case .notification(let n) = $0 { n.payload == "pong" } else { false } }
        // A batch is yielded to the sequence before onNotifications sees it.
        for _ in 0..<100 where batches.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        listener.stop()
        let seen = batches.withLock { $0 }
        #expect(seen.map(\.payloads) == [["ping"], ["pong"]])
        // The ping was pushed to the idle connection, the pong came with a statement's answer.
        #expect(seen.map(\.idle) == [[true], [false]])
        // The pong came from the listener's backend, the one that answered both batches.
        #expect(seen.count == 2 && seen[1].senders == [seen[0].answeredBy] && seen[1].answeredBy == seen[0].answeredBy)
        #expect(pid(of: pong) == seen.first?.answeredBy)
        #expect(failures.withLock { $0.map(\.sqlState) } == ["22012"])
    }

    @Test("onConnected runs on each new connection, the first and every reconnect, before its notifications are answered there")
    func readiesEachConnection() async throws {
        let name = uniqueName("listener_connected")
        let channel = uniqueName("connected")
        // In order: ("connected", backend) from onConnected, ("answered", backend) from onNotifications.
        let calls = Mutex<[(String, Int)]>([])
        let failures = Mutex<[String]>([])
        @Sendable func record(_ what: String, _ session: borrowing PostgresListenerSession) {
            do {
                let backend = try session.query("select pg_backend_pid()")[0].decode(Int.self, at: 0)
                calls.withLock { $0.append((what, backend)) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        let listener = PostgresListener(
            configuration: TestDatabase.configuration(applicationName: name), channels: [channel],
            onNotifications: { _, session in record("answered", session) },
            onConnected: { session in record("connected", session) })
        var events = listener.makeAsyncIterator()
        let guardTask = watchdog(listener)
        defer { guardTask.cancel() }
        func ask(until count: Int) async throws {
            try await withTestConnection { try await $0.notify(channel: channel, payload: "ask") }
            _ = await next(&events) { if case .notification = $0 { true } else { false } }
            for _ in 0..<200 where calls.withLock({ $0.count }) < count { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(await events.next() == .listening)
        try await ask(until: 2)
        #expect(try await terminateBackends(applicationName: name) == 1)
        #expect(await next(&events) { $0 == .listening } == .listening)
        try await ask(until: 4)
        listener.stop()
        #expect(failures.withLock { $0 } == [])
        let seen = calls.withLock { $0 }
        #expect(seen.map(\.0) == ["connected", "answered", "connected", "answered"])
        #expect(seen.count == 4 && seen[0].1 == seen[1].1 && seen[2].1 == seen[3].1 && seen[0].1 != seen[2].1)
    }

    @Test("a notification that comes with the answer to onConnected's statement is not marked as arrived while idle")
    func marksNotificationsOfItsOwnStatements() async throws {
        let channel = uniqueName("busy")
        let key = Int.random(in: 1...Int(Int32.max))
        let connects = Mutex(0)
        let listener = PostgresListener(
            configuration: TestDatabase.configuration(), channels: [channel],
            onConnected: { session in
                guard connects.withLock({ count in count += 1; return count }) == 1 else { return }
                // Waits for the test's advisory lock: a NOTIFY committed meanwhile comes with this statement's answer.
                _ = try? session.query("select pg_advisory_lock(\(key)), pg_advisory_unlock(\(key))")
            })
        try await withTestConnection { connection async throws in
            try await connection.query("select pg_advisory_lock(\(key))")
            var events = listener.makeAsyncIterator()
            let guardTask = watchdog(listener)
            defer { guardTask.cancel() }
            #expect(await events.next() == .listening)
            // Until the listener's statement waits for the lock.
            while try await connection.query("""
                select count(*) from pg_locks where locktype = 'advisory' and not granted and objid = \(key)::oid
                """)[0].decode(Int.self, at: 0) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await connection.notify(channel: channel, payload: "during")
            try await connection.query("select pg_advisory_unlock(\(key))")
            var seen: [String: Bool] = [:]
            while seen.count < 2, let event = await events.next() {
                guard case .notification(let notification) = event else { continue }
                seen[notification.payload] = notification.arrivedWhileIdle
                if notification.payload == "during" { try await connection.notify(channel: channel, payload: "after") }
            }
            listener.stop()
            #expect(seen == ["during": false, "after": true])
        }
    }

    private func pid(of event: PostgresListenerEvent?) -> Int {
        if case .notification(let notification) = event { return notification.pid }
        return -1
    }

    /// Collects errors reported from the listener's thread.
    final class Errors: Sendable {
        private let storage = Mutex<[PostgresError]>([])
        func append(_ error: PostgresError) { storage.withLock { $0.append(error) } }
        var sqlStates: [String?] { storage.withLock { $0.map(\.sqlState) } }
    }
}
