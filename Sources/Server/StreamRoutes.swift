import Foundation
import HTTPTypes
import Hummingbird
import Postgres
import ServiceLifecycle

/// `GET /api/v1/stream`: run state changes as Server-Sent Events, for the operator console.
/// Readers only (service role, super admin, operator), refused with the JSON envelope before
/// any stream byte. Optional filters `function=<id>` and `run=<uuid>` (AND). The body opens
/// with `: connected` once the hub listens, then one `event: run` per change
/// (``RunEvent/serverSentEvent``), `event: resync` when changes may have been missed, and a
/// `: ping` comment every ``RunEventHub/pingInterval``, so proxies keep the connection and a
/// gone client is noticed. `timeout=<seconds>` (1–3600) ends the stream after that long.
/// A client that reconnects (an EventSource sends the `Last-Event-ID` it last saw) gets
/// `event: resync` right after `: connected`: changes made while it was away are not kept.
struct StreamRoutes<Context: RequestContext>: Sendable {
    let database: PostgresPool
    let authenticator: Authenticator
    /// The console's sessions: a signed-in console page reads the stream with its cookie.
    let sessions: ConsoleSessions
    let hub: RunEventHub

    static var lastEventID: HTTPField.Name { HTTPField.Name("Last-Event-ID")! }

    func addRoutes(to router: Router<Context>) {
        router.get("/api/v1/stream") { request, _ in
            // A token, or the console's session cookie (EventSource sends cookies, not headers).
            let caller = try await sessions.reader(for: request, authenticator: authenticator)
            let query = try QueryParameters(request, allowed: ["function", "run", "timeout"])
            let run = try query.uuid("run")
            let function = query.text("function")
            let timeout = try query.integer("timeout", in: 1...3600)
            // The database decides who reads the engine, as for every operator read (42501 → 403).
            try await RequestDatabase(pool: database, principal: caller).query("select auth.require_reader('api.stream')")

            // A client back with any Last-Event-ID refetches: the hub keeps no history to replay
            // from, and its numbers restart with the process. Numbered before subscribing, so the
            // events that follow it number higher.
            let resync = request.headers[Self.lastEventID] != nil ? await hub.resyncNow.serverSentEvent : nil
            let events = await hub.subscribe(function: function, run: run)
            // Changes from here on are heard before the client is told it is connected.
            _ = await hub.waitUntilListening(timeout: .seconds(5))
            let ping = hub.pingInterval
            var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
            // Proxies that buffer (nginx) pass the events through at once.
            headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                // Events and pings merged, bounded like the hub's buffer: a client that cannot
                // keep up is dropped (its stream ends), never buffered without limit.
                let (chunks, output) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(hub.bufferSize))
                let forward = Task {
                    for await event in events {
                        if case .dropped = output.yield(event.serverSentEvent) { break }
                    }
                    output.finish()
                }
                let pinger = Task {
                    while (try? await Task.sleep(for: ping)) != nil {
                        if case .dropped = output.yield(": ping\n\n") { output.finish() }
                    }
                }
                let limit = Task {
                    guard let timeout else { return }
                    if (try? await Task.sleep(for: .seconds(timeout))) != nil { output.finish() }
                }
                defer {
                    forward.cancel()
                    pinger.cancel()
                    limit.cancel()
                }
                try await writer.write(ByteBuffer(string: ": connected\n\n" + (resync ?? "")))
                // A graceful shutdown ends the stream, so the server does not wait for it.
                for await chunk in chunks.cancelOnGracefulShutdown() {
                    try await writer.write(ByteBuffer(string: chunk))
                }
                try await writer.finish(nil)
            })
        }
    }
}
