import ArgumentParser
import Engine
import Foundation

/// `nightshift schedules`: every schedule with its next fire time in UTC and in its zone.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "List cron schedules with their next fire time (UTC and local).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let runtime = try Runtime(options: options, component: "schedules", applicationName: "nightshift-cli")
        try await runtime.registry.sync(to: runtime.database)
        let rows = try await runtime.database.query("""
            select s.function_id, s.cron, s.timezone, s.enabled and f.enabled and f.retired_at is null,
                   to_char(s.next_slot at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                   to_char(s.next_slot at time zone s.timezone, 'YYYY-MM-DD HH24:MI')
            from nightshift.schedules s join nightshift.functions f on f.id = s.function_id
            order by s.next_slot
            """)
        print("function                              cron            zone            enabled  next (UTC)        next (local)")
        for row in rows {
            let (id, cron, zone, enabled, utc, local) = try row.decode(String.self, String.self, String.self, Bool.self, String.self, String.self)
            print([
                id.padding(toLength: 36, withPad: " ", startingAt: 0), cron.padding(toLength: 14, withPad: " ", startingAt: 0),
                zone.padding(toLength: 14, withPad: " ", startingAt: 0), (enabled ? "yes" : "no").padding(toLength: 7, withPad: " ", startingAt: 0),
                utc, local,
            ].joined(separator: "  "))
        }
        await runtime.database.close()
    }
}
