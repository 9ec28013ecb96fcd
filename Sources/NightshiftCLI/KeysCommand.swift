import ArgumentParser
import Server

/// `nightshift keys generate`: a new project secret with its anon and service-role keys, as
/// lines for an env file (the variables override `[auth]` in the config file).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate project keys.",
        subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random JWT secret and anon and service-role keys signed with it.",
            discussion: """
                nightshift keys generate [--project-id <id>] >> .env
                The keys are HS256, issued by the project id, and expire in ten years, like Supabase's.
                Without --project-id, project_id is read from the config file.
                """)

        @OptionGroup var options: GlobalOptions

        @Option(help: "The iss of the keys (default: project_id of the config file).")
        var projectID: String?

        func run() async throws {
            let projectID = try self.projectID ?? options.loadConfig().projectID
            guard !projectID.isEmpty else { throw ValidationError("--project-id must not be empty") }
            print(try await ProjectKeys.generate(projectID: projectID).environmentLines)
        }
    }
}
