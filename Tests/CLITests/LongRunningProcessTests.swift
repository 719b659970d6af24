import Testing

/// The suites that drive real `nurture serve` processes for minutes (faults, scale-out). Their
/// tests are synchronous and wait on processes, which holds a thread of Swift's cooperative
/// pool (two threads on a 2-core machine); run side by side they would starve the in-process
/// HTTP tests. Nested here, they run one at a time while the other suites run in parallel.
@Suite("Long-running process tests, one at a time", .serialized)
enum LongRunningProcessTests {}
