/// Everything a storage adapter provides: the focused ports together. SQLite
/// (`NurtureSQLite`) and PostgreSQL (`NurturePostgres`) implement it; use cases ask only for
/// the ports they use.
public protocol NurtureStore: LeadDecisions, EventInbox, Outbox, WebhookOutbox, WorkerRegistry, SuppressionList, LeadReading, ReportReading, InstallationIdentity {}
