import ArgumentParser
import Engine
import Foundation

/// `nightshift schedules`: every schedule with its next fire time in UTC and in its zone.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "List cron schedules with their next fire time (UTC and local).")

    @OptionGroup var options: GlobalOptions

    @OptionGroup var output: OutputOptions

    struct Schedule {
        var functionID, cron, timezone: String
        var enabled: Bool
        var nextUTC: Date
        var nextLocal: String
    }

    /// JSON keys: function_id, cron, timezone, enabled, next_at (ISO 8601, UTC), next_local
    /// (`YYYY-MM-DD HH:MM` in the schedule's zone).
    static var listing: Listing<Schedule> { Listing(
        json: { schedule in
            [
                ("function_id", .string(schedule.functionID)), ("cron", .string(schedule.cron)), ("timezone", .string(schedule.timezone)),
                ("enabled", .bool(schedule.enabled)), ("next_at", .date(schedule.nextUTC)), ("next_local", .string(schedule.nextLocal)),
            ]
        },
        columns: [
            ("function", \.functionID), ("cron", \.cron), ("zone", \.timezone), ("enabled", { $0.enabled ? "yes" : "no" }),
            ("next (UTC)", { tableDate($0.nextUTC) }), ("next (local)", \.nextLocal),
        ]) }

    func run() async throws {
        let runtime = try Runtime(options: options, component: "schedules", applicationName: "nightshift-cli")
        // This build's schedules are listed with the slots the database computes for them; a
        // listing retires nothing another build's workers declare (declare, not sync).
        try await runtime.registry.declare(to: runtime.database)
        let rows = try await runtime.database.query("""
            select s.function_id, s.cron, s.timezone, s.enabled and f.enabled and f.retired_at is null,
                   s.next_slot, to_char(s.next_slot at time zone s.timezone, 'YYYY-MM-DD HH24:MI')
            from nightshift.schedules s join nightshift.functions f on f.id = s.function_id
            order by s.next_slot, s.function_id
            """)
        let schedules = try rows.map { row in
            let (id, cron, zone, enabled, next, local) = try row.decode(String.self, String.self, String.self, Bool.self, Date.self, String.self)
            return Schedule(functionID: id, cron: cron, timezone: zone, enabled: enabled, nextUTC: next, nextLocal: local)
        }
        await runtime.database.close()
        print(Self.listing.render(schedules, as: output.output))
    }
}
