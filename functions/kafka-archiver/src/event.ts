import { InputValidationError, issuesOf } from '@laminar/runtime';
import { z } from 'zod';

/**
 * The event a Kafka event source mapping delivers (self-managed or MSK): records grouped by
 * "topic-partition", keys and values base64, headers as arrays of byte arrays. A record without
 * its coordinates could not be archived under a deterministic key, so those are checked first;
 * its timestamp, key and headers are what a producer wrote, and a bad one sends that record to
 * quarantine with the reason (archive.ts) — never the batch to a retry that could not succeed.
 */
const kafkaRecord = z.looseObject({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  timestamp: z.unknown(),
  // Typed per record in archive.ts: refused here, one odd record would fail every retry of its
  // batch and stall the partition behind it.
  timestampType: z.unknown(),
  key: z.unknown(),
  value: z.unknown(),
  headers: z.unknown(),
});

export type KafkaEventRecord = z.output<typeof kafkaRecord>;

export const kafkaEventSchema = z.looseObject({
  eventSource: z.enum(['aws:kafka', 'SelfManagedKafka', 'aws:SelfManagedKafka']),
  bootstrapServers: z.string().optional(),
  eventSourceArn: z.string().optional(),
  records: z.record(z.string(), z.array(kafkaRecord)),
});
export type KafkaEvent = z.output<typeof kafkaEventSchema>;

export function parseKafkaEvent(event: unknown): KafkaEvent {
  const parsed = kafkaEventSchema.safeParse(event);
  if (!parsed.success) throw new InputValidationError(issuesOf(parsed.error), 'Kafka event');
  return parsed.data;
}
