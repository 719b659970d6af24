/// Everything a storage adapter provides: the focused ports together. SQLite implements it
/// (`NurtureSQLite`); use cases ask only for the ports they use.
public protocol NurtureStore: LeadDecisions, Outbox, WorkerRegistry, SuppressionList, LeadReading {}
