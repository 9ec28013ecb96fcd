import Testing

@testable import Config

/// `[functions."<id>"]` with `sql` or `http`: a job without Swift (issue 13 §2).
@Suite("config-declared jobs")
struct DeclaredJobConfigTests {
    @Test("sql and http entries are jobs; the others stay edge-function settings")
    func parsesJobs() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal + """

            [functions.hello]
            verify_jwt = false

            [functions."ops/refresh-sales-report"]
            cron = "*/5 * * * *"
            sql = "select reports.refresh_sales();"
            retries = 2
            max_concurrency = 1
            catch_up = "skip"
            timeout = "90s"

            [functions."crm/nightly-sync"]
            cron = "0 2 * * *"
            timezone = "Asia/Riyadh"
            http = { url = "https://crm.internal/sync", method = "put", timeout = "60s", headers = { "X-Team" = "crm" } }
            """, source: "test.toml")
        #expect(config.functions.keys.sorted() == ["hello"])
        #expect(config.functions["hello"]?.verifyJWT == false)
        #expect(config.declaredJobs["ops/refresh-sales-report"] == DeclaredJob(
            id: "ops/refresh-sales-report", work: .sql("select reports.refresh_sales();"), cron: "*/5 * * * *",
            retries: 2, maxConcurrency: 1, catchUp: .skip, timeout: .seconds(90)))
        #expect(config.declaredJobs["crm/nightly-sync"] == DeclaredJob(
            id: "crm/nightly-sync",
            work: .http(.init(url: "https://crm.internal/sync", method: "PUT", timeout: .seconds(60), headers: ["X-Team": "crm"])),
            cron: "0 2 * * *", timezone: "Asia/Riyadh"))
    }

    @Test("an http job's method defaults to POST; a job without cron is triggered by hand")
    func defaults() throws {
        let config = try NightshiftConfig.parseWithPacks(minimal + "\n[functions.\"a/b\"]\nhttp = { url = \"http://127.0.0.1:9/x\" }\n", source: "test.toml")
        #expect(config.declaredJobs["a/b"] == DeclaredJob(id: "a/b", work: .http(.init(url: "http://127.0.0.1:9/x"))))
    }

    @Test("invalid job entries are refused, naming the key")
    func refused() {
        let cases: [(String, String, String)] = [
            ("sql = \"select 1\"\nverify_jwt = true", "functions.\"a/b\".verify_jwt", "unknown key"),
            ("sql = \"select 1\"\nhttp = { url = \"http://x.test\" }", "functions.\"a/b\".http", "not both"),
            ("sql = \" ; \"", "functions.\"a/b\".sql", "statement"),
            ("sql = \"select 1; select 2\"", "functions.\"a/b\".sql", "one statement"),
            ("sql = \"select 1\"\ntimeout = 60", "functions.\"a/b\".timeout", "string"),
            ("sql = \"select 1\"\ntimeout = \"soon\"", "functions.\"a/b\".timeout", "duration"),
            ("sql = \"select 1\"\nretries = -1", "functions.\"a/b\".retries", "between"),
            ("sql = \"select 1\"\nmax_concurrency = 0", "functions.\"a/b\".max_concurrency", "between"),
            ("sql = \"select 1\"\ncron = \"* * * * *\"\ncatch_up = \"some\"", "functions.\"a/b\".catch_up", "skip, latest or all"),
            ("sql = \"select 1\"\ntimezone = \"UTC\"", "functions.\"a/b\".timezone", "no cron"),
            ("http = { method = \"POST\" }", "functions.\"a/b\".http.url", "missing"),
            ("http = { url = \"ftp://x.test/a\" }", "functions.\"a/b\".http.url", "http(s) URL"),
            ("http = { url = \"http://x.test\", method = \"HEAD\" }", "functions.\"a/b\".http.method", "GET, POST"),
            ("http = { url = \"http://x.test\", retry = true }", "functions.\"a/b\".http.retry", "unknown key"),
            ("http = { url = \"http://x.test\", headers = { A = 1 } }", "functions.\"a/b\".http.headers.A", "string"),
            ("http = \"http://x.test\"", "functions.\"a/b\".http", "table"),
        ]
        for (entry, key, problem) in cases {
            let error = parseError(minimal + "\n[functions.\"a/b\"]\n\(entry)\n")
            #expect(error?.key == key, "\(entry): \(String(describing: error))")
            #expect(error?.problem.contains(problem) == true, "\(entry): \(String(describing: error))")
        }
    }

    @Test("on_failure names a configured channel; another name is refused, naming the key and the channels")
    func onFailure() throws {
        let channel = "\n[notifications.channels.ops]\nwebhook_url = \"http://127.0.0.1:9/hooks/ops\"\n"
        let config = try NightshiftConfig.parse(
            minimal + "\n[functions.\"a/b\"]\nsql = \"select 1\"\non_failure = \"ops\"\n" + channel, source: "test.toml")
        #expect(config.declaredJobs["a/b"]?.onFailure == "ops")
        let error = parseError(minimal + "\n[functions.\"a/b\"]\nsql = \"select 1\"\non_failure = \"pager\"\n" + channel)
        #expect(error?.key == "functions.\"a/b\".on_failure", "\(String(describing: error))")
        #expect(error?.problem.contains("[notifications.channels.pager]") == true && error?.problem.contains("configured: ops") == true,
                "\(String(describing: error))")
    }

    @Test("a header carrying a credential must reference the environment; ${NAME} references are checked")
    func secretHeaders() throws {
        let config = try NightshiftConfig.parse(minimal + """

            [functions."crm/sync"]
            http = { url = "https://crm.internal/sync", headers = { "Authorization" = "Bearer ${CRM_TOKEN}", "X-Team" = "crm" } }
            """, source: "test.toml")
        guard case .http(let call)? = config.declaredJobs["crm/sync"]?.work else { Issue.record("not an http job"); return }
        #expect(call.headers["Authorization"] == "Bearer ${CRM_TOKEN}", "stored as written, expanded by the worker at each call")
        let cases: [(String, String, String)] = [
            ("{ \"Authorization\" = \"Bearer sk_live_123\" }", "functions.\"a/b\".http.headers.Authorization", "plain text"),
            ("{ \"X-Api-Key\" = \"abc\" }", "functions.\"a/b\".http.headers.X-Api-Key", "plain text"),
            ("{ \"X-Team\" = \"${TEAM\" }", "functions.\"a/b\".http.headers.X-Team", "closing"),
            ("{ \"X-Team\" = \"${1TEAM}\" }", "functions.\"a/b\".http.headers.X-Team", "not a variable reference"),
        ]
        for (headers, key, problem) in cases {
            let error = parseError(minimal + "\n[functions.\"a/b\"]\nhttp = { url = \"http://x.test\", headers = \(headers) }\n")
            #expect(error?.key == key, "\(headers): \(String(describing: error))")
            #expect(error?.problem.contains(problem) == true, "\(headers): \(String(describing: error))")
        }
    }

    @Test("${NAME} expands from the environment; a missing variable is an error naming it")
    func expansion() throws {
        #expect(try DeclaredJob.expand("Bearer ${CRM_TOKEN}", environment: ["CRM_TOKEN": "t0k"]) == "Bearer t0k")
        #expect(try DeclaredJob.expand("${A}-${B}$x", environment: ["A": "1", "B": "2"]) == "1-2$x")
        #expect(try DeclaredJob.expand("plain", environment: [:]) == "plain")
        #expect(throws: DeclaredJob.ExpansionError(description: "${CRM_TOKEN} is not set in the worker's environment")) {
            try DeclaredJob.expand("Bearer ${CRM_TOKEN}", environment: [:])
        }
    }
}
