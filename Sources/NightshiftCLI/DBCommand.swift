import ArgumentParser
import Foundation
import Migrations
import Postgres

/// `nightshift db reset`: the configured database, dropped, created anew and migrated.
struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Manage the configured database.", subcommands: [Reset.self])

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop and re-create the configured database, then apply the migrations (all, or --only some components).",
            discussion: """
                Logs in as the owner ([db] owner_url or DATABASE_OWNER_URL; else [db] url or
                DATABASE_URL), drops the database it names (its connections are ended), creates it
                again and migrates it: every schema and row in it is lost. Roles are the cluster's
                and stay. Asks for the database's name on a terminal unless --yes; refuses a server
                that is not on this machine (loopback or a local socket) unless --force. --only
                as for migrate: some components, with the ones they require.
                """)

        @OptionGroup var options: GlobalOptions

        @OptionGroup var source: MigrationSourceOptions

        @OptionGroup var selection: ComponentSelection

        @Flag(help: "Do not ask: drop the database without a confirmation.")
        var yes = false

        @Flag(help: "Allow a database server that is not on loopback or a local socket.")
        var force = false

        /// Whether libpq's `host` (a name, an address, a socket folder or a comma list) is this machine.
        static func isLocal(host: String?) -> Bool {
            guard let host, !host.isEmpty else { return true }  // libpq's default: the local socket
            return host.split(separator: ",").allSatisfy { part in
                let name = part.trimmingCharacters(in: .whitespaces).lowercased()
                return name.hasPrefix("/") || name.hasPrefix("@") || name == "localhost" || name == "::1" || name == "[::1]"
                    || name.wholeMatch(of: /127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/) != nil
            }
        }

        /// A refusal: said on standard error, exit status 1, nothing changed.
        struct Refusal: Error { let message: String }

        /// A quoted SQL identifier.
        static func quoted(_ name: String) -> String {
            "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }

        func run() async throws {
            do {
                try await reset()
            } catch let refusal as Refusal {
                printError("db reset: \(refusal.message)")
                throw ExitCode.failure
            }
        }

        private func reset() async throws {
            let config = try options.loadConfig()
            let logger = try options.bootstrapLogging(component: "db-reset")
            let sets: [MigrationSet]
            do {
                sets = try selection.select(from: try source.all())
            } catch let error as MigrationError {
                throw Refusal(message: "\(error)")
            }
            let owner = PostgresConfiguration(url: config.database.migrationURL, applicationName: "nightshift-db-reset")
            let parameters = try owner.parameters()
            guard let database = parameters["dbname"] ?? parameters["user"], !database.isEmpty else {
                throw Refusal(message: "the owner URL names no database")
            }
            if ["postgres", "template0", "template1"].contains(database) {
                throw Refusal(message: "refusing to reset \(database): it is one of the cluster's own databases")
            }
            let host = parameters["hostaddr"] ?? parameters["host"]
            let server = "\(host ?? "local socket"):\(parameters["port"] ?? "5432")"
            if !Self.isLocal(host: host) && !force {
                throw Refusal(message: "refusing to reset database \(database) on \(server), which is not this machine: pass --force if you mean it")
            }
            if !yes {
                guard isatty(STDIN_FILENO) != 0 else {
                    throw Refusal(message: "refusing to reset database \(database) without confirmation: pass --yes (no terminal to ask on)")
                }
                print("This drops database \(database) on \(server) with all its data, then migrates it anew.")
                print("Type the database's name to go on: ", terminator: "")
                fflush(nil)
                guard readLine()?.trimmingCharacters(in: .whitespaces) == database else {
                    printError("db reset: not confirmed, nothing changed")
                    throw ExitCode.failure
                }
            }

            let started = ContinuousClock.now
            let admin = try await PostgresConnection.connect(try owner.replacingDatabase(with: "postgres"))
            do {
                try await admin.executeScript("drop database if exists \(Self.quoted(database)) with (force)")
                try await admin.executeScript("create database \(Self.quoted(database))")
            } catch {
                await admin.close()
                printError("db reset: failed: \(error)")
                throw ExitCode.failure
            }
            await admin.close()
            print("db reset: dropped and created database \(database) on \(server)")
            do {
                let outcome = try await Migrator(sets: sets, logger: logger) { component, name, milliseconds in
                    print("  applied \(component)/\(name) (\(milliseconds) ms)")
                    fflush(nil)
                }.run(databaseURL: owner.url)
                print("db reset: \(outcome.applied.count) migrations applied (\(secondsText(ContinuousClock.now - started)))")
            } catch let error as MigrationError {
                printError("db reset: migrate failed: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
