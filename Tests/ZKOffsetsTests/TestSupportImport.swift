// The fixtures every test target shares (the tests' ZooKeeper, mock Kafka clusters, `eventually`), visible in every
// file of this target without an import of its own.
@_exported import TestSupport
