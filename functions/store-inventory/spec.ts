import { defineFunction } from '@laminar/spec';
import { INVENTORY_COLUMNS } from './src/columns.ts';

export default defineFunction({
  name: 'store-inventory',
  description: 'Simulates store inventory records and sends them to Kinesis Data Firehose (→ S3, queryable through Glue).',
  entry: './src/handler.ts',
  memoryMb: 512,
  timeoutS: 120,
  architecture: 'arm64',
  env: {
    DELIVERY_STREAM: { ref: { deliveryStream: 'store-inventory' } },
    POWERTOOLS_SERVICE_NAME: 'store-inventory',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  deliveryStreams: [
    {
      name: 'store-inventory',
      bucket: 'lake',
      // Hive-style partitions: the Glue table projects them, no crawler needed.
      prefix: 'inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
      errorOutputPrefix: 'inventory-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/',
      buffering: { sizeMb: 64, intervalS: 300 },
      table: { database: 'laminar', name: 'store_inventory', columns: [...INVENTORY_COLUMNS], partitionKeys: ['year', 'month', 'day', 'hour'] },
    },
  ],
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: ['RecordsGenerated', 'RecordsDelivered', 'RecordsFailed', 'PutRecordBatchCalls'],
  // Manual runs by default; a schedule is one line, with the run's size as its constant input and
  // the firing's id and time added to it: they seed the records and time them, so a Lambda retry
  // and a DLQ replay of the firing's event regenerate the same records.
  triggers: [{ kind: 'invoke' }, { kind: 'schedule', expression: 'rate(1 hour)', input: { stores: 10, recordsPerStore: 50 }, inputFromEvent: { runId: 'id', at: 'time' } }],
  permissions: [{ actions: ['firehose:PutRecordBatch'], resource: { deliveryStream: 'store-inventory' } }],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
});
