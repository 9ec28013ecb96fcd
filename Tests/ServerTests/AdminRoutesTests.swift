import Foundation
import Postgres
import Testing
import TestSupport

/// `POST /api/v1/admin/coverage/recompute`: super admins only, each answer the issue names.
@Suite("admin coverage recompute", .serialized)
struct AdminRoutesTests {
    static let path = "/api/v1/admin/coverage/recompute"

    @Test("202 with the queued run; 409 with the same run while it is queued; 400, 401, 403, 404")
    func recompute() async throws {
        try await TestDatabase.withMigratedDatabase { url async throws in
            let connection = try await PostgresConnection.connect(url: url)
            try await connection.executeScript("""
                select nightshift.sync_functions('[{"id": "coverage/nightly-recompute", "concurrency": {"limit": 1, "key": "institution_id"}}]');
                insert into coverage.institutions (id, name) values ('20000000-0000-4000-8000-000000000001', 'Kasr Al Ainy');
                """)
            await connection.close()
            let institution = "20000000-0000-4000-8000-000000000001"
            let admin = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000aa", appRole: "super_admin")
            let user = try await token(role: "authenticated", sub: "00000000-0000-4000-8000-0000000000bb")
            let service = try await token(role: "service_role")
            try await withServer(databaseURL: url) { client in
                let queued = try await client.post(Self.path, token: admin, body: #"{"institution_id": "\#(institution)"}"#)
                #expect(queued.status == .accepted)
                #expect(queued.data?["status"] as? String == "queued")
                let job = queued.data?["job_id"] as? String
                #expect(job != nil)

                let again = try await client.post(Self.path, token: admin, body: #"{"institution_id": "\#(institution)"}"#)
                #expect(again.status == .conflict)
                let conflict = again.json["error"] as? [String: Any]
                #expect(conflict?["job_id"] as? String == job?.lowercased(), "the conflict names the run already queued, inside error")
                #expect(conflict?["status"] as? String == "queued")
                #expect(again.json["data"] is NSNull, "an error's data is always null")
                #expect(again.errorCode == "conflict")

                #expect(try await client.post(Self.path, body: #"{"institution_id": "\#(institution)"}"#).status == .unauthorized)
                #expect(try await client.post(Self.path, token: user, body: #"{"institution_id": "\#(institution)"}"#).status == .forbidden)
                #expect(try await client.post(Self.path, token: service, body: #"{"institution_id": "\#(institution)"}"#).status == .forbidden)
                let missing = try await client.post(Self.path, token: admin, body: "{}")
                #expect(missing.status == .badRequest && missing.errorMessage?.contains("institution_id") == true)
                let malformed = try await client.post(Self.path, token: admin, body: #"{"institution_id": "nope"}"#)
                #expect(malformed.status == .badRequest && malformed.errorMessage?.contains("institution_id") == true)
                let unknown = try await client.post(Self.path, token: admin, body: #"{"institution_id": "20000000-0000-4000-8000-0000000000ff"}"#)
                #expect(unknown.status == .notFound)
            }
        }
    }
}
