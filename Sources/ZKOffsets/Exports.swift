// The coordinator's API speaks the types of the two client modules (TopicPartition, KafkaMessage,
// ZooKeeperOperation ...); re-export them so that an application imports ZKOffsets alone.
@_exported import RdKafka
@_exported import ZooKeeper
