import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing

@Suite("HTTP server and edge-function runtime")
struct ServerTests {
    @Test("GET /health answers 200 with the database up")
    func healthUp() async throws {
        try await withServer { client, pool async throws in
            // The check gives the database a second; a loaded machine's first connect alone can
            // take longer, so the pool holds an open connection first.
            _ = try await pool.query("select 1")
            // The check's own budget is a second: under the whole suite's load one check can miss
            // it (a 503, as promised), so the test asks again for a while before failing.
            var reply = try await client.execute(uri: "/health", method: .get) { try Reply($0) }
            let deadline = ContinuousClock.now + .seconds(20)
            while reply.status != .ok, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                reply = try await client.execute(uri: "/health", method: .get) { try Reply($0) }
            }
            #expect(reply.status == .ok)
            #expect(reply.data?["database"] as? String == "up")
            #expect(reply.isEnvelope)
        }
    }

    @Test("GET /health answers 503 when the database is unreachable")
    func healthDown() async throws {
        try await withServer(databaseURL: "postgresql://postgres@127.0.0.1:1/nightshift?connect_timeout=1") { client in
            let reply = try await client.execute(uri: "/health", method: .get) { try Reply($0) }
            #expect(reply.status == .serviceUnavailable)
            #expect(reply.errorCode == "unavailable")
            #expect(reply.errorMessage == "database unreachable", "no host, port or libpq text for whoever asks")
            #expect(reply.json["data"] is NSNull)
        }
    }

    @Test("hello answers through the whole path with the anon key in the apikey header")
    func helloWithAPIKey() async throws {
        let config = try await testConfig()
        try await withServer { client async throws in
            let reply = try await client.post("/functions/v1/hello", apikey: config.auth.anonKey, body: #"{"name":"Ada"}"#)
            #expect(reply.status == .ok)
            #expect(reply.data?["message"] as? String == "Hello, Ada!")
            #expect(reply.data?["role"] as? String == "anon")
            #expect(reply.data?["database_time"] is String)
            #expect(reply.json["error"] is NSNull)
        }
    }

    @Test("a Bearer token wins over apikey and carries its role")
    func bearer() async throws {
        let service = try await token(role: "service_role")
        let config = try await testConfig()
        try await withServer { client async throws in
            let reply = try await client.post("/functions/v1/hello", token: service, apikey: config.auth.anonKey, body: "{}")
            #expect(reply.data?["role"] as? String == "service_role")
        }
    }

    @Test("no token, a forged token, an expired token or a malformed header: 401 with a JSON error")
    func unauthorized() async throws {
        let forged = try await token(role: "service_role", secret: "another-secret-0123456789abcdef0123")
        let expired = try await token(role: "anon", expires: Date().addingTimeInterval(-60))
        try await withServer { client async throws in
            let none = try await client.post("/functions/v1/hello", body: "{}")
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "unauthorized")
            #expect(none.isEnvelope)
            let bad = try await client.post("/functions/v1/hello", token: forged, body: "{}")
            #expect(bad.status == .unauthorized)
            let old = try await client.post("/functions/v1/hello", token: expired, body: "{}")
            #expect(old.status == .unauthorized)
            #expect(old.errorMessage?.contains("expired") == true)
            let malformed = try await client.post("/functions/v1/hello", body: "{}", headers: [.authorization: "Token abc"])
            #expect(malformed.status == .unauthorized)
            #expect(malformed.errorMessage?.contains("Bearer") == true)
        }
    }

    @Test("an authenticated token without sub is refused")
    func authenticatedNeedsSub() async throws {
        let noSub = try await token(role: "authenticated")
        try await withServer { client async throws in
            #expect(try await client.post("/functions/v1/hello", token: noSub, body: "{}").status == .unauthorized)
        }
    }

    @Test("the right token with the wrong role: 403")
    func forbidden() async throws {
        let user = try await token(role: "authenticated", sub: "user-1")
        let service = try await token(role: "service_role")
        try await withServer { client async throws in
            let reply = try await client.post("/functions/v1/service-only", token: user, body: "{}")
            #expect(reply.status == .forbidden)
            #expect(reply.errorMessage?.contains("service_role") == true)
            #expect(try await client.post("/functions/v1/service-only", token: service, body: "{}").status == .ok)
        }
    }

    @Test("malformed JSON: 400 naming the problem; a field of the wrong type: 400 naming the field")
    func badJSON() async throws {
        let anon = try await token(role: "anon")
        try await withServer { client async throws in
            let malformed = try await client.post("/functions/v1/hello", token: anon, body: #"{"name": "Ada""#)
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorCode == "invalid_json")
            #expect(malformed.errorMessage?.hasPrefix("body is not valid JSON") == true)
            let wrongType = try await client.post("/functions/v1/hello", token: anon, body: #"{"name": 42}"#)
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.errorMessage == #"field "name" must be a string"#)
        }
    }

    @Test("a body over the configured limit: 413")
    func tooLarge() async throws {
        let anon = try await token(role: "anon")
        try await withServer { client async throws in
            let big = #"{"name": ""# + String(repeating: "x", count: 1000) + #""}"#
            let reply = try await client.post("/functions/v1/hello", token: anon, body: big)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
            #expect(reply.errorMessage?.contains("256") == true)
        }
    }

    @Test("an unknown function or route: 404 in the envelope; without a token, 401 before any 404 that says what exists")
    func notFound() async throws {
        let anon = try await token(role: "anon")
        try await withServer { client async throws in
            let function = try await client.post("/functions/v1/nope", token: anon, body: "{}")
            #expect(function.status == .notFound)
            #expect(function.errorMessage == #"unknown function "nope""#)
            #expect(try await client.post("/functions/v1/nope", body: "{}").status == .unauthorized)
            #expect(try await client.post("/functions/v1/open", body: "{}").status == .ok, "verify_jwt = false still lets a known one in")
            let route = try await client.execute(uri: "/nowhere", method: .get) { try Reply($0) }
            #expect(route.status == .notFound)
            #expect(route.isEnvelope)
        }
    }

    @Test("every API connection busy: 503 with Retry-After in the envelope, never a 500")
    func poolExhausted() async throws {
        let service = try await token(role: "service_role")
        try await withServer(connections: 1, acquireTimeout: .milliseconds(200)) { client, pool in
            // The holder keeps the only connection until the busy request has been answered: signals,
            // not sleeps, so a loaded machine cannot reorder the two.
            let (held, heldSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            defer { releaseSignal.finish() }
            let holder = Task {
                try await pool.withConnection { connection in
                    _ = try await connection.query("select 1")
                    heldSignal.yield()
                    for await _ in release { break }
                }
            }
            for await _ in held { break }
            let busy = try await client.execute(uri: "/api/v1/functions", method: .get, headers: [.authorization: "Bearer \(service)"]) {
                (try Reply($0), $0.headers[.retryAfter])
            }
            releaseSignal.finish()
            #expect(busy.0.status == .serviceUnavailable)
            #expect(busy.0.errorCode == "unavailable" && busy.0.isEnvelope)
            #expect(busy.1 == "1")
            try await holder.value
            #expect(try await client.get("/api/v1/functions", token: service).status == .ok, "served again once a connection is free")
        }
    }

    @Test("a wrong method on a route: 405 with Allow in the envelope")
    func wrongMethod() async throws {
        try await withServer { client async throws in
            let health = try await client.execute(uri: "/health", method: .post) { ($0.status, $0.headers[.allow]) }
            #expect(health.0 == .methodNotAllowed)
            #expect(health.1 == "GET")
            let runs = try await client.execute(uri: "/api/v1/functions/nightshift/noop/runs", method: .get) { ($0.status, $0.headers[.allow]) }
            #expect(runs.0 == .methodNotAllowed)
            // PATCH too: a function's id may itself end in /runs (PATCH /api/v1/functions/<id>).
            #expect(runs.1 == "PATCH, POST")
            let edge = try await client.execute(uri: "/functions/v1/hello", method: .delete) { try Reply($0) }
            #expect(edge.status == .methodNotAllowed && edge.errorCode == "method_not_allowed" && edge.isEnvelope)
        }
    }

    @Test("verify_jwt = false lets a call without a token in; a token is still read, super_admin included")
    func verifyJWTOff() async throws {
        let admin = try await token(role: "authenticated", sub: "u-9", appRole: "super_admin")
        try await withServer { client async throws in
            let anonymous = try await client.post("/functions/v1/open")
            #expect(anonymous.status == .ok)
            #expect(anonymous.data?["role"] == nil || anonymous.data?["role"] is NSNull)
            let named = try await client.post("/functions/v1/open", token: admin)
            #expect(named.data?["sub"] as? String == "u-9")
            #expect(named.data?["superAdmin"] as? Bool == true)
        }
    }
}

@Suite("server start-up checks")
struct ServerStartupTests {
    @Test("an anon key carrying another role stops start-up, naming the key")
    func anonKeyRole() async throws {
        let config = try await testConfig(anonRole: "service_role")
        await #expect { try await NightshiftServer.checkedAuthenticator(config: config) } throws: { error in
            (error as? ConfigError)?.key == "auth.anon_key"
        }
    }

    @Test("a key not signed with the secret stops start-up, naming the key")
    func keyOfAnotherSecret() async throws {
        var config = try await testConfig()
        config.auth.serviceRoleKey = try await token(role: "service_role", secret: "another-secret-0123456789abcdef0123")
        await #expect { try await NightshiftServer.checkedAuthenticator(config: config) } throws: { error in
            (error as? ConfigError)?.key == "auth.service_role_key"
        }
    }
}
