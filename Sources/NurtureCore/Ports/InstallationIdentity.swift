/// The identity of one installation: a random id made once, with the database, and the same
/// for every process that uses it. Mixed into Message-IDs and tracking tokens, so that two
/// installations that share a signing secret (copied configuration) never make the same ones.
public protocol InstallationIdentity: Sendable {
    /// The installation's id (32 hexadecimal digits).
    func installationID() async throws -> String
}
