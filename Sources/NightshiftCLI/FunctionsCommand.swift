import ArgumentParser
import Engine
import Foundation
import Postgres

/// `nightshift functions list|new`: the declared durable functions, and a new edge function.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "List the declared functions, or scaffold a new edge function.",
        subcommands: [List.self, New.self])

    /// `nightshift functions list`: what the database knows, and what this binary declares.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the durable functions: the database's (Swift, config-declared and SQL-defined), and whether this binary declares each.",
            discussion: """
                With the database reachable: every row of nightshift.functions (retired ones too)
                with its schedule, plus what this binary declares that no worker has synced yet.
                Otherwise this binary's registry alone ([jobs."<id>"], [functions."<id>"] and
                ENABLE_SCHEDULED_JOBS applied), with a note on standard error. `nightshift
                schedules` shows the next fire times.
                """)

        @OptionGroup var options: GlobalOptions

        @OptionGroup var output: OutputOptions

        /// One function as listed, from the database or from this binary's registry.
        struct Row {
            var id: String
            var kind: String
            var definedIn: String
            var declared: Bool
            var enabled: Bool
            var retired: Bool
            var cron: String?
            var timezone: String?
            var events: [String]
            var concurrency: Concurrency
            var retries: Int
            var timeoutMs: Int?
            var onFailure: String?
            var source: String

            init(_ function: NightshiftFunction) {
                id = function.id
                kind = switch function.declared {
                case nil: "swift"
                case .sql: "sql"
                case .http: "http"
                }
                definedIn = "code"
                declared = true
                enabled = function.enabled
                retired = false
                cron = function.schedule?.cron
                timezone = function.schedule?.timezone
                events = function.eventNames
                concurrency = function.concurrency
                retries = function.retries
                timeoutMs = function.timeout.map { Int($0.components.seconds) * 1000 + Int($0.components.attoseconds / 1_000_000_000_000_000) }
                onFailure = function.onFailureChannel
                source = "binary"
            }

            init(row: PostgresRow, declared: Bool) throws {
                id = try row.decode(String.self, at: 0)
                kind = try row.decode(String.self, at: 1)
                definedIn = try row.decode(String.self, at: 2)
                self.declared = declared
                enabled = try row.decode(Bool.self, at: 3)
                retired = try row.decode(Bool.self, at: 4)
                cron = try row.decode(String?.self, at: 5)
                timezone = try row.decode(String?.self, at: 6)
                events = try row.decode([String].self, at: 7)
                let limit = try row.decode(Int?.self, at: 8)
                let key = try row.decode(String?.self, at: 9)
                concurrency = switch (limit, key) {
                case (nil, _): .unlimited
                case (1, nil): .singleton
                case (let limit?, let key): .limit(limit, key: key)
                }
                retries = max(0, try row.decode(Int.self, at: 10) - 1)
                timeoutMs = try row.decode(Int?.self, at: 11)
                onFailure = try row.decode(String?.self, at: 12)
                source = "database"
            }
        }

        /// JSON keys: id; kind (swift, sql or http); defined_in (code: declared by a worker's
        /// code or config; sql: nightshift.define_function); declared (whether this binary
        /// declares it); enabled (whether its cron and events fire); retired; cron (or null);
        /// timezone (or null); events (array of names); concurrency (null for unlimited, else
        /// {"limit": N, "key": field or null}); retries; max_attempts; timeout_ms (or null);
        /// on_failure (the channel its failed runs alert, or null); source (database, or binary
        /// when the row comes from this binary's registry).
        static var listing: Listing<Row> { Listing(
            json: { row in
                [
                    ("id", .string(row.id)), ("kind", .string(row.kind)), ("defined_in", .string(row.definedIn)),
                    ("declared", .bool(row.declared)), ("enabled", .bool(row.enabled)), ("retired", .bool(row.retired)),
                    ("cron", .optional(row.cron)), ("timezone", .optional(row.timezone)), ("events", .strings(row.events)),
                    ("concurrency", concurrencyJSON(row.concurrency)), ("retries", .int(row.retries)),
                    ("max_attempts", .int(row.retries + 1)), ("timeout_ms", .optional(row.timeoutMs)),
                    ("on_failure", .optional(row.onFailure)), ("source", .string(row.source)),
                ]
            },
            columns: [
                ("function", \.id), ("kind", \.kind), ("defined_in", \.definedIn), ("triggers", triggersText),
                ("concurrency", { concurrencyText($0.concurrency) }), ("retries", { "\($0.retries)" }),
                ("enabled", { $0.enabled ? "yes" : "no" }), ("retired", { $0.retired ? "yes" : "no" }),
                ("declared", { $0.declared ? "yes" : "no" }),
            ]) }

        static func triggersText(_ row: Row) -> String {
            var parts: [String] = []
            if let cron = row.cron { parts.append("cron \(cron) (\(row.timezone ?? "UTC"))") }
            parts += row.events.map { "event \($0)" }
            return parts.isEmpty ? "manual" : parts.joined(separator: ", ")
        }

        static func concurrencyText(_ concurrency: Concurrency) -> String {
            switch concurrency {
            case .unlimited: "unlimited"
            case .singleton: "1"
            case .limit(let limit, let key?): "\(limit) per \(key)"
            case .limit(let limit, nil): "\(limit)"
            }
        }

        static func concurrencyJSON(_ concurrency: Concurrency) -> JSONCell {
            switch concurrency {
            case .unlimited: .null
            case .singleton: .object(["limit": .int(1), "key": .null])
            case .limit(let limit, let key): .object(["limit": .int(limit), "key": .optional(key)])
            }
        }

        func run() async throws {
            let runtime = try Runtime(options: options, component: "functions", applicationName: "nightshift-cli")
            var functions = runtime.registry.functions.values.sorted { $0.id < $1.id }
            if !runtime.registry.schedulesEnabled {
                // ENABLE_SCHEDULED_JOBS=false: nothing fires, as sync would record it.
                functions = functions.map { var function = $0; function.enabled = false; return function }
            }
            let binary = functions.map(Row.init)
            var rows: [Row]
            do {
                rows = try await Self.databaseRows(runtime.database, declared: Set(runtime.registry.functions.keys))
                // Declared here but not synced yet (no worker of this binary has started).
                let known = Set(rows.map(\.id))
                rows += binary.filter { !known.contains($0.id) }
                rows.sort { $0.id < $1.id }
            } catch {
                printError("functions list: the database is unreachable or not migrated (\(error)); showing what this binary declares")
                rows = binary
            }
            await runtime.database.close()
            print(Self.listing.render(rows, as: output.output))
        }

        static func databaseRows(_ database: PostgresPool, declared: Set<String>) async throws -> [Row] {
            let result = try await database.query("""
                select f.id, f.kind, f.defined_in, f.enabled and coalesce(s.enabled, true), f.retired_at is not null,
                       s.cron, s.timezone, f.event_names, f.concurrency_limit, f.concurrency_key, f.max_attempts, f.timeout_ms,
                       f.on_failure
                from nightshift.functions f
                left join nightshift.schedules s on s.function_id = f.id
                order by f.id
                """)
            return try result.map { try Row(row: $0, declared: declared.contains(try $0.decode(String.self, at: 0))) }
        }
    }

    /// `nightshift functions new NAME`: a minimal edge function, registered in the catalog.
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scaffold an edge function under functions/<name>/ and register it in functions/Catalog.swift.",
            discussion: """
                NAME: lowercase letters, digits and dashes, starting with a letter (e.g. send-report).
                Writes functions/<name>/<Name>.swift, a minimal EdgeFunction like functions/hello,
                and adds it to Catalog.all; `make build` then serves it at POST /functions/v1/<name>.
                """)

        @Argument(help: "The function's name: its folder and its path under /functions/v1/.")
        var name: String

        @Option(help: "The edge functions folder (holds Catalog.swift).")
        var functionsDir = "functions"

        /// Names that would shadow a module or a type the generated file uses.
        static let reservedTypes: Set<String> = [
            "Catalog", "Server", "Postgres", "Engine", "Foundation", "Config", "EdgeFunction", "EdgeRequest", "EdgeResponse",
            "APIError", "Principal", "Input", "Output",
        ]

        /// `send-report` → `SendReport`.
        static func typeName(for name: String) -> String {
            name.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }

        func validate() throws {
            guard name.wholeMatch(of: /[a-z][a-z0-9]*(-[a-z0-9]+)*/) != nil else {
                throw ValidationError(
                    "\"\(name)\" is not a valid function name: lowercase letters, digits and single dashes, starting with a letter (e.g. send-report)")
            }
        }

        func run() throws {
            do {
                try scaffold()
            } catch let error as ValidationError {
                printError("functions new: \(error.message)")
                throw ExitCode.failure
            }
        }

        private func scaffold() throws {
            let manager = FileManager.default
            let root = URL(fileURLWithPath: functionsDir)
            let catalogURL = root.appendingPathComponent("Catalog.swift")
            guard var catalog = try? String(contentsOf: catalogURL, encoding: .utf8) else {
                throw ValidationError("\(catalogURL.path) is missing: run this from the project's root, or pass --functions-dir")
            }
            let folder = root.appendingPathComponent(name)
            if manager.fileExists(atPath: folder.path) {
                throw ValidationError("\(folder.path) already exists: the function \"\(name)\" is taken")
            }
            let type = Self.typeName(for: name)
            let taken = try Self.declaredTypes(in: root)
            if Self.reservedTypes.contains(type) || taken.contains(type) {
                throw ValidationError("the type name \(type) (from \"\(name)\") is already used under \(functionsDir): pick another name")
            }
            guard let opening = catalog.range(of: "[any EdgeFunction] = ["),
                  let closing = catalog.range(of: "\n    ]", range: opening.upperBound..<catalog.endIndex)
            else {
                throw ValidationError("cannot find the list `[any EdgeFunction] = [ … ]` in \(catalogURL.path) to register \(type)()")
            }
            catalog.insert(contentsOf: "\n        \(type)(),", at: closing.lowerBound)
            let file = folder.appendingPathComponent("\(type).swift")
            try manager.createDirectory(at: folder, withIntermediateDirectories: false)
            try Self.source(name: name, type: type).write(to: file, atomically: true, encoding: .utf8)
            try catalog.write(to: catalogURL, atomically: true, encoding: .utf8)
            print("created \(file.relativePath)")
            print("registered \(type)() in \(catalogURL.relativePath)")
            print("next: `make build` (then `make run`, or restart `nightshift serve`) serves it at POST /functions/v1/\(name)")
        }

        /// Every `struct`/`enum`/`class`/`actor`/`protocol` name declared in the folder's Swift files.
        static func declaredTypes(in root: URL) throws -> Set<String> {
            var types: Set<String> = []
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return types }
            for case let url as URL in walker where url.pathExtension == "swift" {
                let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
                for match in text.matches(of: /(?:struct|enum|class|actor|protocol|typealias)\s+([A-Za-z_][A-Za-z0-9_]*)/) {
                    types.insert(String(match.output.1))
                }
            }
            return types
        }

        static func source(name: String, type: String) -> String {
            """
            import Foundation
            import Postgres
            import Server

            /// `POST /functions/v1/\(name)` with `{"name": "Ada"}`: answers with a greeting and the
            /// database's time. Scaffolded by `nightshift functions new \(name)`; make it yours.
            struct \(type): EdgeFunction {
                let name = "\(name)"

                struct Input: Decodable {
                    var name: String?
                }

                struct Output: Encodable, Sendable {
                    let message: String
                    let databaseTime: Date

                    enum CodingKeys: String, CodingKey {
                        case message
                        case databaseTime = "database_time"
                    }
                }

                func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
                    let input = try request.decode(Input.self)
                    let who = input.name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    if who.count > 200 {
                        throw APIError.badRequest("field \\"name\\" must be at most 200 characters")
                    }
                    let now = try await request.database.query("select now()").first!.decode(Date.self, at: 0)
                    return .ok(Output(message: "Hello from \(name), \\(who.isEmpty ? "world" : who)!", databaseTime: now))
                }
            }

            """
        }
    }
}
