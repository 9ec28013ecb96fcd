import Config
import EdgeFunctions
import Foundation
import Testing
import TestSupport

@testable import Server

/// `[functions.*]`: an edge function's settings, or (with `sql` or `http`) a job, which the
/// server leaves to the engine.
@Suite("edge function index")
struct EdgeFunctionIndexTests {
    static let committed = TestDatabase.projectRoot.appendingPathComponent("supabase-like-config/config.toml").path

    static func config(appending text: String) throws -> NightshiftConfig {
        let base = try String(contentsOfFile: committed, encoding: .utf8)
        return try NightshiftConfig.parse(base + "\n" + text, source: "test.toml", sections: RepositoryPacks.sections)
    }

    @Test("job entries are not edge functions; an unknown edge function's settings are still refused")
    func skipsJobs() throws {
        let jobs = try Self.config(appending: """
            [functions."ops/refresh"]
            sql = "select 1"

            [functions."crm/sync"]
            http = { url = "http://127.0.0.1:9/sync" }
            """)
        #expect(jobs.declaredJobs.keys.sorted() == ["crm/sync", "ops/refresh"])
        let index = try NightshiftServer.index(RepositoryPacks.edgeFunctions, config: jobs)
        #expect(index["ops/refresh"] == nil)

        let unknown = try Self.config(appending: "[functions.nope]\nverify_jwt = true\n")
        #expect(throws: ConfigError.self) { try NightshiftServer.index(RepositoryPacks.edgeFunctions, config: unknown) }
    }
}
