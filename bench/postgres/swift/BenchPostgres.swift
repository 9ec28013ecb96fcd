import Foundation
import Postgres

/// bench-postgres <conninfo|url> roundtrips|pgbench-s|decode N
/// Prints "<mode> <count> <seconds>" and the process's peak resident memory, in the same
/// format as libpq_baseline.c so bench/postgres/run.sh can set the two side by side.
@main
struct BenchPostgres {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let count = Int(arguments[3]) else {
            FileHandle.standardError.write(Data("usage: bench-postgres <conninfo> roundtrips|pgbench-s|decode N\n".utf8))
            exit(2)
        }
        let connection = try await PostgresConnection.connect(PostgresConfiguration(url: arguments[1], applicationName: "bench-postgres"))
        let clock = ContinuousClock()
        let started = clock.now
        var sink = 0.0
        switch arguments[2] {
        case "roundtrips":
            for _ in 0..<count {
                sink += Double(try await connection.query("select 1")[0].decode(Int.self, at: 0))
            }
        case "pgbench-s":
            var generator = SeededGenerator(seed: 42)
            for _ in 0..<count {
                let aid = Int.random(in: 1...100_000, using: &generator)
                let rows = try await connection.query("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)")
                sink += Double(try rows[0].decode(Int.self, at: 0))
            }
        case "decode":
            let rows = try await connection.query("""
                select g::int8, 'name-' || g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second', (g * 1.25)::numeric(20,4)
                from generate_series(1, \(count)::int8) g
                """)
            for row in rows {
                let (id, name, at, amount) = try row.decode(Int.self, String.self, Date.self, Decimal.self)
                sink += Double(id) + Double(name.utf8.count) + at.timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
                    + NSDecimalNumber(decimal: amount).doubleValue
            }
        default:
            FileHandle.standardError.write(Data("unknown mode \(arguments[2])\n".utf8))
            exit(2)
        }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("\(arguments[2]) \(count) \(String(format: "%.6f", seconds))")
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("peak_rss_kib \(usage.ru_maxrss) (checksum \(Int(sink) % 10))")
        await connection.close()
    }
}

/// A small deterministic generator (SplitMix64), so every run queries the same accounts.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
