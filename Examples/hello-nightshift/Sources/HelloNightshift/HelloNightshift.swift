import Engine
import Foundation
import Migrations
import NightshiftCLI
import NightshiftKit
import Server

/// A pack: a cron function in two checkpointed steps, the event function it wakes, an edge function.
struct Hello: Pack {
    let name = "hello"
    var edgeFunctions: [any EdgeFunction] { [Greet()] }

    func migrations() throws -> MigrationSet? {
        try MigrationSet.load(component: name, requires: ["engine"], from: Bundle.module.url(forResource: "migrations", withExtension: nil)!)
    }

    func functions(_ context: PackContext) throws -> [NightshiftFunction] {
        [countGreetings, logCount]
    }
}

struct Counted: Codable, Sendable {
    var count: Int
}

/// Every minute: count the greetings (step 1, its result checkpointed), then announce it (step 2).
let countGreetings = NightshiftFunction(id: "hello/count-greetings", triggers: [.cron("* * * * *")], payload: NoPayload.self) { _, run in
    let count = try await run.step.run("count") {
        try await run.database.query("select count(*)::int from hello.greetings")[0].decode(Int.self, at: 0)
    }
    _ = try await run.step.sendEvent("hello.counted", Counted(count: count))
    return Counted(count: count)
}

/// Each announcement: one run with the event's data as its payload (retried with backoff if it throws).
let logCount = NightshiftFunction(id: "hello/log-count", triggers: [.event("hello.counted")], payload: Counted.self) { counted, run in
    run.logger.info("greetings so far", metadata: ["count": "\(counted.count)"])
    return counted
}

/// `POST /functions/v1/greet {"name": "Ada"}`: records a greeting, as the caller (row-level security applies).
struct Greet: EdgeFunction {
    let name = "greet"

    struct Input: Decodable {
        var name: String
    }

    func handle(_ request: EdgeRequest) async throws -> EdgeResponse {
        let input = try request.decode(Input.self)
        _ = try await request.database.query("insert into hello.greetings (name) values (\(input.name))")
        return .ok(["greeted": input.name])
    }
}

@main
enum HelloNightshift {
    static func main() async {
        await NightshiftCLI.main(packs: [Hello()])
    }
}
