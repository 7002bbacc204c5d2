import { InputValidationError, issuesOf } from '@laminar/runtime';
import { z } from 'zod';

/**
 * The event a Kafka event source mapping delivers (self-managed or MSK): records grouped by
 * "topic-partition", keys and values base64, headers as arrays of byte arrays. A record without
 * its coordinates could not be archived under a deterministic key, so the shape is checked first.
 */
const kafkaRecord = z.looseObject({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  timestamp: z.number().int(),
  timestampType: z.string().optional(),
  key: z.string().nullable().optional(),
  value: z.string().nullable().optional(),
  headers: z.array(z.record(z.string(), z.array(z.number().int().min(-128).max(255)))).nullable().optional(),
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
