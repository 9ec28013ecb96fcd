import ArgumentParser
import Engine
import Foundation

/// `nightshift functions list|new`: the declared durable functions, and a new edge function.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "List the declared functions, or scaffold a new edge function.",
        subcommands: [List.self, New.self])

    /// `nightshift functions list`: what this binary declares, with the config applied.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the durable functions this binary declares (config applied).",
            discussion: """
                From the registry of this binary, with [jobs."<id>"] and ENABLE_SCHEDULED_JOBS
                applied: what a worker started with the same config would sync into
                nightshift.functions. Needs no database. `nightshift schedules` shows the
                database's schedules and their next fire times.
                """)

        @OptionGroup var options: GlobalOptions

        @OptionGroup var output: OutputOptions

        /// JSON keys: id, cron (or null), timezone (or null), events (array of names),
        /// concurrency (null for unlimited, else {"limit": N, "key": field or null}), retries,
        /// max_attempts, timeout_ms (or null), enabled (whether its cron and events fire).
        static var listing: Listing<NightshiftFunction> { Listing(
            json: { function in
                [
                    ("id", .string(function.id)), ("cron", .optional(function.schedule?.cron)),
                    ("timezone", .optional(function.schedule?.timezone)), ("events", .strings(function.eventNames)),
                    ("concurrency", concurrencyJSON(function.concurrency)), ("retries", .int(function.retries)),
                    ("max_attempts", .int(function.retries + 1)),
                    ("timeout_ms", .optional(function.timeout.map { Int($0.components.seconds) * 1000 + Int($0.components.attoseconds / 1_000_000_000_000_000) })),
                    ("enabled", .bool(function.enabled)),
                ]
            },
            columns: [
                ("function", \.id), ("triggers", triggersText), ("concurrency", { concurrencyText($0.concurrency) }),
                ("retries", { "\($0.retries)" }), ("enabled", { $0.enabled ? "yes" : "no" }),
            ]) }

        static func triggersText(_ function: NightshiftFunction) -> String {
            var parts: [String] = []
            if let (cron, zone) = function.schedule { parts.append("cron \(cron) (\(zone))") }
            parts += function.eventNames.map { "event \($0)" }
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
            print(Self.listing.render(functions, as: output.output))
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
