import Engine
import Foundation
import Hummingbird
import Postgres

/// The pages: each reads one or two `api` functions and shapes their JSON for its template.
extension ConsoleRoutes {
    typealias Rendered = (template: String, title: String, context: [String: Any])

    func overview(_ page: Page) async throws -> Rendered {
        // Typed: up to 1,440 minutes of three integers each decode straight into [[Int]].
        let text = try await page.database.query("select api.overview()::text")[0].decode(String.self, at: 0)
        let overview = try JSONDecoder().decode(Overview.self, from: Data(text.utf8))
        let data = JSONValue.object(overview.rest)
        let since = ConsoleFormat.date(data["since"]?.string) ?? Date().addingTimeInterval(-86_400)
        let points = overview.perMinute.compactMap { $0.count == 3 ? (minute: $0[0], runs: $0[1], failed: $0[2]) : nil }
        var context: [String: Any] = [
            "since": ConsoleFormat.time(data["since"]?.string) ?? "",
            "chart": ConsoleFormat.chart(perMinute: points, since: since),
            "totals": ["runs": points.reduce(0) { $0 + $1.runs }, "failed": points.reduce(0) { $0 + $1.failed }],
            "queue": (data["queue"]?.array ?? []).map { TemplateValue.object($0) },
        ]
        context["stuck"] = (data["stuck"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["short"] = ConsoleFormat.short(item["id"]?.string ?? "")
            row["since"] = ConsoleFormat.time(item["since"]?.string)
            return row
        }
        context["missed"] = (data["missed"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["anchor"] = ConsoleFormat.anchor(item["function_id"]?.string ?? "")
            return row
        }
        context["durations"] = (data["durations"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["p50"] = ConsoleFormat.milliseconds(item["p50_ms"]?.numberText)
            row["p95"] = ConsoleFormat.milliseconds(item["p95_ms"]?.numberText)
            return row
        }
        var sections: [[String: Any]] = []
        for source in health {
            do {
                let figures = try await source.figures(database: page.database)
                sections.append(["title": source.title, "figures": figures.map { ["label": $0.label, "value": $0.value] }])
            } catch {
                sections.append(["title": source.title, "figures": [[String: Any]](), "error": Self.consoleError(error).message])
            }
        }
        context["health"] = sections
        return ("overview", "Overview", context)
    }

    /// Function cards per page: each is ~3.3 KB, so a page of them stays far under 100 KB.
    static var functionsPerPage: Int { 20 }

    /// The functions, a page of cards at a time (`?page=N`); `?function=<id>` opens the page
    /// that holds that function (what links to one function and the actions' redirects use).
    func functions(
        _ request: Request?, _ page: Page, payloadError: (id: String, payload: String, message: String)? = nil
    ) async throws -> Rendered {
        let list = (try await page.json("select api.functions()::text")).array ?? []
        let query = request?.uri.queryParameters
        let focus = payloadError?.id ?? query?["function"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let pages = max(1, (list.count + Self.functionsPerPage - 1) / Self.functionsPerPage)
        let number: Int
        if let focus {
            guard let index = list.firstIndex(where: { $0["id"]?.string == focus }) else {
                throw ConsoleError(.notFound, "No function is named \"\(focus.prefix(200))\".")
            }
            number = index / Self.functionsPerPage + 1
        } else if let text = query?["page"].map(String.init), !text.isEmpty {
            guard let requested = Int(text), requested >= 1 else {
                throw ConsoleError(.badRequest, "page must be a whole number from 1, not \"\(text.prefix(32))\"")
            }
            number = min(requested, pages)
        } else {
            number = 1
        }
        let shown = list.dropFirst((number - 1) * Self.functionsPerPage).prefix(Self.functionsPerPage)
        let strips = try await page.json("select api.function_runs(12)::text")
        let functions = shown.map { item -> [String: Any] in
            let id = item["id"]?.string ?? ""
            var row = TemplateValue.object(item)
            row["anchor"] = ConsoleFormat.anchor(id)
            let retired = item["retired"]?.bool == true, enabled = item["enabled"]?.bool == true
            row["retired"] = retired
            row["state"] = retired ? "retired" : (enabled ? "enabled" : "disabled")
            row["stateLabel"] = row["state"]
            row["toggleValue"] = enabled ? "false" : "true"
            row["toggleLabel"] = enabled ? "Disable" : "Enable"
            var triggers: [String] = []
            if let cron = item["schedule"]?["cron"]?.string { triggers.append("cron \(cron)") }
            let events = (item["events"]?.array ?? []).compactMap(\.string)
            if !events.isEmpty { triggers.append("events " + events.joined(separator: ", ")) }
            triggers.append("manual")
            row["triggers"] = triggers.joined(separator: "; ")
            if let schedule = item["schedule"], schedule != .null {
                var value = TemplateValue.object(schedule)
                value["words"] = CronWords.describe(schedule["cron"]?.string ?? "")
                row["schedule"] = value
            }
            if let limit = item["concurrency_limit"]?.int {
                row["concurrency"] = "at most \(limit) at once" + (item["concurrency_key"]?.string.map { " per \($0)" } ?? "")
            } else {
                row["concurrency"] = "unlimited"
            }
            let backoff = item["backoff"]
            row["retries"] = "\(item["max_attempts"]?.int ?? 1) attempts, backoff from \(ConsoleFormat.milliseconds(backoff?["base_ms"]?.numberText) ?? "?") ×\(backoff?["multiplier"]?.numberText ?? "?") up to \(ConsoleFormat.milliseconds(backoff?["max_ms"]?.numberText) ?? "?")"
                + (ConsoleFormat.milliseconds(item["timeout_ms"]?.numberText).map { ", timeout \($0)" } ?? "")
            row["strip"] = (strips[id]?.array ?? []).reversed().map { run -> [String: Any] in
                ["id": run["id"]?.string ?? "", "status": run["status"]?.string ?? "", "short": ConsoleFormat.short(run["id"]?.string ?? ""),
                 "created_at": ConsoleFormat.time(run["created_at"]?.string) ?? ""]
            }
            row["payload"] = "{}"
            if let payloadError, payloadError.id == id {
                row["payload"] = payloadError.payload
                row["payloadError"] = payloadError.message
            }
            return row
        }
        var context: [String: Any] = ["functions": Array(functions)]
        if pages > 1 {
            let first = (number - 1) * Self.functionsPerPage + 1
            var pager: [String: Any] = ["summary": "Functions \(first)–\(first + shown.count - 1) of \(list.count), page \(number) of \(pages)"]
            if number > 1 { pager["previousURL"] = "/console/functions?page=\(number - 1)" }
            if number < pages { pager["nextURL"] = "/console/functions?page=\(number + 1)" }
            context["pager"] = pager
        }
        return ("functions", "Functions", context)
    }

    static var statuses: [String] { ["queued", "running", "completed", "failed", "cancelled"] }
    static var triggers: [String] { ["cron", "event", "manual", "rerun"] }

    func runs(_ request: Request, _ page: Page) async throws -> Rendered {
        let query = request.uri.queryParameters
        func text(_ name: String) -> String? {
            query[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        }
        let function = text("function"), status = text("status"), trigger = text("trigger"), before = text("before")
        let since = try Self.localTime(text("since"), "From"), until = try Self.localTime(text("until"), "To")
        let search = text("q")?.trimmingCharacters(in: .whitespaces)
        var id: UUID? = nil
        if let search {
            guard let value = UUID(uuidString: search) else {
                throw ConsoleError(.badRequest, "search takes a run id or a correlation id (a UUID), got \"\(search.prefix(64))\"")
            }
            id = value
        }
        func fetch(id: UUID?, correlation: UUID?) async throws -> JSONValue {
            try await page.json("""
                select api.runs(\(function), \(status), \(trigger), \(since), \(until), 50, \(before), \(id), \(correlation))::text
                """)
        }
        var result = try await fetch(id: id, correlation: nil)
        if id != nil, (result["runs"]?.array ?? []).isEmpty {
            result = try await fetch(id: nil, correlation: id)
        }
        let now = Date()
        let rows = (result["runs"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["short"] = ConsoleFormat.short(item["id"]?.string ?? "")
            row["created"] = ConsoleFormat.time(item["created_at"]?.string)
            if let started = ConsoleFormat.date(item["started_at"]?.string) {
                let end = ConsoleFormat.date(item["finished_at"]?.string) ?? now
                row["took"] = ConsoleFormat.duration(end.timeIntervalSince(started))
            }
            return row
        }
        var filters: [(String, String)] = []
        for (name, value) in [("function", function), ("status", status), ("trigger", trigger), ("since", text("since")),
                              ("until", text("until")), ("q", search)] {
            if let value { filters.append((name, value)) }
        }
        func url(_ extra: [(String, String)]) -> String {
            var components = URLComponents()
            components.path = "/console/runs"
            let items = (filters + extra).map { URLQueryItem(name: $0.0, value: $0.1) }
            components.queryItems = items.isEmpty ? nil : items
            return components.string ?? "/console/runs"
        }
        let functionIDs = try await functionIDs(page)
        var context: [String: Any] = [
            "runs": rows,
            "functionOptions": functionIDs.map { ["value": $0, "selected": $0 == function] as [String: Any] },
            "statusOptions": Self.statuses.map { ["value": $0, "selected": $0 == status] as [String: Any] },
            "triggerOptions": Self.triggers.map { ["value": $0, "selected": $0 == trigger] as [String: Any] },
            "since": text("since") ?? "", "until": text("until") ?? "", "q": search ?? "",
            "newestURL": url([]),
            "fragmentURL": url([("fragment", "rows")]),
            "streamURL": "/api/v1/stream" + (function.map { "?function=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? ""),
            "live": before == nil,
        ]
        if let before { context["before"] = before }
        if let next = result["next_before"]?.string { context["nextURL"] = url([("before", next)]) }
        return ("runs", "Runs", context)
    }

    /// Every function id, for the runs filter.
    private func functionIDs(_ page: Page) async throws -> [String] {
        try await page.database.query("select api_f ->> 'id' from jsonb_array_elements(api.functions()) api_f").map {
            try $0.decode(String.self, at: 0)
        }
    }

    /// A `datetime-local` value (`2026-12-06T05:00` or with seconds), read as UTC.
    static func localTime(_ text: String?, _ label: String) throws -> Date? {
        guard let text else { return nil }
        let padded = text.count == 16 ? text + ":00" : text
        guard padded.count == 19, let date = ConsoleFormat.date(padded) else {
            throw ConsoleError(.badRequest, "\(label) must be a date and time such as 2026-12-06T05:00, got \"\(text.prefix(40))\"")
        }
        return date
    }

    func run(_ request: Request, _ id: UUID, _ page: Page) async throws -> Rendered {
        let data = try await page.json("select api.run(\(id))::text")
        let events = try await page.json("select api.run_events(\(id))::text")
        var run = TemplateValue.object(data)
        for key in ["payload", "output", "error"] { run[key] = TemplateValue.pretty(data[key]) }
        for key in ["created_at", "started_at", "finished_at", "cron_slot"] { run[key] = ConsoleFormat.time(data[key]?.string) }
        if data["crash_count"]?.int == 0 { run["crash_count"] = nil }
        if let lease = data["lease"], lease != .null {
            var value = TemplateValue.object(lease)
            value["expires_at"] = ConsoleFormat.time(lease["expires_at"]?.string)
            run["lease"] = value
        }
        let status = data["status"]?.string ?? ""
        run["cancellable"] = status == "queued" || status == "running"
        // Steps as bars: each from the previous step's end (the run's start for the first) to
        // its own, on one scale from the run's start to its end (or now).
        let start = ConsoleFormat.date(data["started_at"]?.string) ?? ConsoleFormat.date(data["created_at"]?.string) ?? Date()
        let steps = (data["steps"]?.array ?? []).map { ($0, ConsoleFormat.date($0["completed_at"]?.string) ?? start) }
        let end = max(ConsoleFormat.date(data["finished_at"]?.string) ?? Date(), steps.map(\.1).max() ?? start)
        let span = max(end.timeIntervalSince(start), 0.001)
        var previous = start
        run["steps"] = steps.map { step, completed -> [String: Any] in
            let from = max(previous, start)
            let seconds = max(completed.timeIntervalSince(from), 0)
            previous = max(previous, completed)
            return ["name": step["name"]?.string ?? "", "attempt": step["attempt"]?.numberText ?? "",
                    "completed_at": ConsoleFormat.time(step["completed_at"]?.string) ?? "",
                    "took": ConsoleFormat.duration(seconds), "output": TemplateValue.pretty(step["output"]) ?? "null",
                    "x": Int(from.timeIntervalSince(start) / span * 1000), "w": max(Int(seconds / span * 1000), 2)]
        }
        run["attempts"] = (data["attempts"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["started_at"] = ConsoleFormat.time(item["started_at"]?.string)
            row["finished_at"] = ConsoleFormat.time(item["finished_at"]?.string)
            row["error"] = TemplateValue.pretty(item["error"])
            return row
        }
        run["events"] = (events.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["created_at"] = ConsoleFormat.time(item["created_at"]?.string)
            return row
        }
        let path = "/console/runs/\(id.lowercasedString)"
        let finished = ["completed", "failed", "cancelled"].contains(status)
        return ("run", "Run \(ConsoleFormat.short(id.lowercasedString)) of \(data["function_id"]?.string ?? "")", [
            "run": run, "fragmentURL": path + "?fragment=detail",
            "streamURL": "/api/v1/stream?run=\(id.lowercasedString)", "live": !finished,
        ])
    }

    func schedules(_ page: Page) async throws -> Rendered {
        let list = try await page.json("select api.schedules()::text")
        let rows = (list.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["anchor"] = ConsoleFormat.anchor(item["function_id"]?.string ?? "")
            row["functionURL"] = ConsoleFormat.functionURL(item["function_id"]?.string ?? "")
            row["words"] = CronWords.describe(item["cron"]?.string ?? "")
            row["next_slot"] = ConsoleFormat.time(item["next_slot"]?.string)
            row["last_slot"] = ConsoleFormat.time(item["last_slot"]?.string) ?? "never"
            let on = item["enabled"]?.bool == true && item["function_enabled"]?.bool == true && item["retired"]?.bool != true
            row["state"] = item["retired"]?.bool == true ? "retired" : (on ? "on" : "off")
            if item["overdue_slots"]?.int == 0 { row["overdue_slots"] = nil }
            row["skipped"] = (item["skipped"]?.array ?? []).map { range -> [String: Any] in
                var value = TemplateValue.object(range)
                for key in ["first_slot", "last_slot", "recorded_at"] { value[key] = ConsoleFormat.time(range[key]?.string) }
                return value
            }
            return row
        }
        return ("schedules", "Schedules and missed slots", ["schedules": rows])
    }

    func events(_ request: Request, _ page: Page) async throws -> Rendered {
        let name = request.uri.queryParameters["name"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let before = request.uri.queryParameters["before"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let result = try await page.json("select api.events(\(name), null, null, 50, \(before))::text")
        let rows = (result["events"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["data"] = TemplateValue.pretty(item["data"])
            row["created_at"] = ConsoleFormat.time(item["created_at"]?.string)
            return row
        }
        var context: [String: Any] = ["events": rows, "name": name ?? ""]
        if let next = result["next_before"]?.string {
            var components = URLComponents()
            components.path = "/console/events"
            components.queryItems = (name.map { [URLQueryItem(name: "name", value: $0)] } ?? []) + [URLQueryItem(name: "before", value: next)]
            context["nextURL"] = components.string
        }
        return ("events", "Events", context)
    }

    func notifications(_ request: Request, _ page: Page) async throws -> Rendered {
        func text(_ name: String) -> String? {
            request.uri.queryParameters[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        }
        let channel = text("channel"), status = text("status"), before = text("before")
        let stats = try await page.json("select api.notification_stats(14)::text")
        let result = try await page.json("select api.deliveries(\(channel), \(status), 50, \(before))::text")
        let rows = (result["deliveries"]?.array ?? []).map { item -> [String: Any] in
            var row = TemplateValue.object(item)
            row["created_at"] = ConsoleFormat.time(item["created_at"]?.string)
            row["failed"] = item["status"]?.string == "failed"
            return row
        }
        var context: [String: Any] = [
            "days": (stats["days"]?.array ?? []).map { TemplateValue.object($0) },
            "byChannel": (stats["deliveries"]?.array ?? []).map { TemplateValue.object($0) },
            "deliveries": rows,
        ]
        let filter = [channel.map { "channel \($0)" }, status.map { "status \($0)" }].compactMap { $0 }.joined(separator: ", ")
        if !filter.isEmpty { context["filter"] = filter }
        if let next = result["next_before"]?.string {
            var components = URLComponents()
            components.path = "/console/notifications"
            components.queryItems = [("channel", channel), ("status", status), ("before", next)].compactMap { pair in
                pair.1.map { URLQueryItem(name: pair.0, value: $0) }
            }
            context["nextURL"] = components.string
        }
        return ("notifications", "Notifications", context)
    }
}

/// api.overview's answer: the per-minute series typed, everything else as JSON.
struct Overview: Decodable {
    let perMinute: [[Int]]
    let rest: [String: JSONValue]

    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        perMinute = try container.decodeIfPresent([[Int]].self, forKey: Key(stringValue: "per_minute")) ?? []
        var rest: [String: JSONValue] = [:]
        for key in container.allKeys where key.stringValue != "per_minute" {
            rest[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
        self.rest = rest
    }
}

extension JSONValue {
    /// The string, if this is one.
    var string: String? { if case .string(let value) = self { value } else { nil } }
    /// The array, if this is one.
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    /// The Boolean, if this is one.
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// A whole number, if this is one.
    var int: Int? { if case .number(let value) = self { Int(exactly: NSDecimalNumber(decimal: value).doubleValue) } else { nil } }
    /// A number as text, if this is one.
    var numberText: String? { if case .number(let value) = self { "\(value)" } else { nil } }
}
