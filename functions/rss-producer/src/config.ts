import { dynamoEnvSchema, rejectsEnvSchema } from '@laminar/aws';
import { dedupEnvSchema } from '@laminar/dedup';
import { kafkaEnvSchema } from '@laminar/kafka';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, normalize: true });

/**
 * FEED_URLS: one variable carries the whole list, comma- or whitespace-separated; hosts are
 * normalized and repeats dropped, so one feed is never polled twice per run.
 */
export const feedUrlList = z
  .string()
  .transform((s) =>
    s
      .split(/[,\s]+/)
      .map((u) => u.trim())
      .filter(Boolean),
  )
  .pipe(z.array(httpUrl).min(1, 'needs at least one http(s) URL').max(500))
  .transform((urls) => [...new Set(urls)]);

const ownSchema = {
  /** The feeds, inline… */
  FEED_URLS: feedUrlList.optional(),
  /** …or the name of an SSM parameter holding the same list (changeable without a deploy). */
  FEED_URLS_PARAMETER: z.string().regex(/^\/?[a-zA-Z0-9_.\-/]{1,2048}$/, 'not an SSM parameter name').optional(),
  /** Per feed, for headers and body together. */
  FETCH_TIMEOUT_MS: envInt(100, 120_000).default(10_000),
  /** A body larger than this (after decompression) fails its feed; it is never buffered whole. */
  MAX_FEED_BYTES: envInt(1024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  FEED_CONCURRENCY: envInt(1, 64).default(8),
  KAFKA_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a valid Kafka topic name'),
};

export const configSchema = z
  .object({ ...kafkaEnvSchema.shape, ...dynamoEnvSchema.shape, ...rejectsEnvSchema.shape, ...dedupEnvSchema.shape, ...ownSchema })
  .refine((c) => (c.FEED_URLS === undefined) !== (c.FEED_URLS_PARAMETER === undefined), {
    path: ['FEED_URLS'],
    message: 'set exactly one of FEED_URLS and FEED_URLS_PARAMETER',
  });
export type Config = z.output<typeof configSchema>;
