import ArgumentParser
import Foundation
import NurtureCore
import NurtureApp
import NurtureRuntime

/// `nurture migrate`: bring the database schema up to date, as its own deploy step.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations this version has and the database lacks.",
        discussion: """
        Also done at the start of every command that opens the database, so this is for deploy \
        pipelines that want the schema change as its own step. Safe when several processes \
        start together. --check lists what is pending and exits 1 if anything is.

        Examples:
          nurture migrate --check --config nurture.yaml   (exit 1 if one is pending)
          nurture migrate --config nurture.yaml
        """
    )

    @Flag(help: "Only list pending migrations (exit 1 when there are some).")
    var check = false

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let configuration = try options.configuration()
        let store: any NurtureStore & SchemaMigrating
        do {
            store = try StoreFactory.open(configuration.storeLocation, migrate: false, logger: options.logger()).store
        } catch {
            printError("cannot open the database \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
        if check {
            let pending: [String]
            do {
                pending = try await store.pendingMigrations()
            } catch {
                printError("cannot read the database \(configuration.storeLocation): \(error)")
                throw ExitCode(78)
            }
            print(pending.isEmpty ? "\(configuration.storeLocation): up to date" : "\(configuration.storeLocation): pending: \(pending.joined(separator: ", "))")
            if !pending.isEmpty { throw ExitCode(1) }
            return
        }
        let applied: [String]
        do {
            applied = try await store.migrate()
        } catch {
            printError("cannot migrate the database \(configuration.storeLocation): \(error)")
            throw ExitCode(78)
        }
        print(applied.isEmpty ? "\(configuration.storeLocation): up to date" : "\(configuration.storeLocation): applied \(applied.joined(separator: ", "))")
    }
}
