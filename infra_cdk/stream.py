"""Stream: the Kinesis stream agents' events travel on, the consumer's on-failure queue, and
the EventBridge bus that carries domain events (ActivityStored, ConsentWithdrawn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.nag import acknowledge

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig
    from infra_cdk.data import Keys


class Stream(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, keys: Keys) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._keys = keys
        self.stream = self._add_stream()
        self.dead_letter_queue = self._add_dead_letter_queue()
        self.bus = self._add_bus()

    def _add_stream(self) -> kinesis.Stream:
        stream_config = self._config.stream
        provisioned = stream_config.mode == "provisioned"
        stream = kinesis.Stream(
            self,
            "Events",
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self._keys.stream,
            stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
            shard_count=stream_config.shard_count if provisioned else None,
            retention_period=Duration.hours(stream_config.retention_hours),
        )
        acknowledge(
            stream,
            "AwsSolutions-KDS3",
            "A customer-managed key is deliberate: its key policy limits who can read activity data, "
            "it is rotated yearly, and its use is auditable per principal in CloudTrail.",
        )
        return stream

    def _add_dead_letter_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "ConsumerDlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._keys.stream,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue: the on-failure destination of the "
            "ingest_stream event source mapping (it receives batch metadata to replay from the stream).",
        )
        return queue

    def _add_bus(self) -> events.EventBus:
        return events.EventBus(self, "Bus", kms_key=self._keys.stream)
