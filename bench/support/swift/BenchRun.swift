import Foundation
import Postgres

/// What the pack benchmarks (bench-coverage, bench-portfolio) measure and report the same way:
/// process, PostgreSQL-backend and machine CPU, the load, percentiles and number formats, the
/// results' JSON lines, and dropping the throwaway database at the end. A bench conforms and
/// gets these as methods.
public protocol BenchRun: AnyObject {
    /// The cluster without a database: `postgresql://postgres@127.0.0.1:54329`.
    var server: String { get }
    /// The bench's own throwaway database on it.
    var name: String { get }
    var database: PostgresPool! { get }
    /// `coverage`, `portfolio`: the results rows' `bench`, and `application_name` bench-<it>.
    var benchName: String { get }
    /// What the figures were measured over, in each results row.
    var settings: String { get }
}

/// utime + stime of some PostgreSQL backends, by pid.
public struct BackendCPU: Sendable {
    public var byPID: [Int: Double]

    public func subtracting(_ before: BackendCPU) -> Double {
        byPID.reduce(0) { $0 + $1.value - (before.byPID[$1.key] ?? 0) }
    }
}

extension BenchRun {
    public var applicationName: String { "bench-\(benchName)" }

    public func dropDatabase(keep: Bool) async {
        if keep { say("kept database \(name)"); return }
        do {
            let admin = try await PostgresConnection.connect(PostgresConfiguration(url: server + "/postgres", applicationName: applicationName))
            try await admin.executeScript("drop database if exists \(name) with (force)")
            await admin.close()
            say("dropped database \(name)")
        } catch {
            say("could not drop database \(name): \(error)")
        }
    }

    /// This process's CPU time, user + system, in seconds.
    public func processCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// utime + stime of this process's connections (application_name bench-<benchName>).
    public func backendCPU() async throws -> BackendCPU {
        let pids = try await database.query("""
            select pid from pg_stat_activity where datname = current_database() and application_name = \(applicationName)
            """).map { try $0.decode(Int.self, at: 0) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var byPID: [Int: Double] = [:]
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After "pid (comm)": state is field 3, utime 14, stime 15.
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                byPID[pid] = (user + system) / ticks
            }
        }
        return BackendCPU(byPID: byPID)
    }

    /// The machine's CPU time (all cores), busy and total, from /proc/stat.
    public func machineCPU() -> (busy: Double, total: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first else { return (0, 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0) }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let total = values.prefix(8).reduce(0, +)
        let idle = values[3] + values[4]
        return ((total - idle) / ticks, total / ticks)
    }

    public func loadavg() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    public func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))  // unbuffered: progress shows as it happens
    }

    public func pct(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let k = max(0, min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[k]
    }

    public func f(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "n/a"
    }

    public func grouped(_ value: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        return formatter.string(from: NSNumber(value: value)) ?? "\(value)"
    }

    /// One figure as a JSON line, appended to $BENCH_RESULTS.
    public func emit(_ workload: String, _ figure: String, _ value: Double, _ unit: String, detail: String) {
        let record: [String: Any] = [
            "bench": benchName, "workload": workload, "figure": figure,
            "value": value.isFinite ? (value * 1000).rounded() / 1000 : NSNull(), "unit": unit,
            "settings": settings, "ts": ISO8601DateFormatter().string(from: Date()), "detail": detail,
        ]
        guard let path = ProcessInfo.processInfo.environment["BENCH_RESULTS"],
              let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(data + Data("\n".utf8))
        handle.closeFile()
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
