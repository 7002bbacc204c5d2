import { dynamoEnvSchema, rejectsEnvSchema } from '@laminar/aws';
import { dedupEnvSchema } from '@laminar/dedup';
import { kafkaEnvSchema } from '@laminar/kafka';
import { envInt } from '@laminar/runtime';
import { z } from 'zod';

/** A base URL without its trailing slash, so paths can be appended with one "/". */
const baseUrl = z
  .url({ protocol: /^https?$/ })
  .transform((u) => u.replace(/\/+$/, ''));

const ownSchema = {
  GAMMA_API_URL: baseUrl.default('https://gamma-api.polymarket.com'),
  CLOB_API_URL: baseUrl.default('https://clob.polymarket.com'),
  /** Markets read per invocation (the Gamma listing is cut here); each gives one tick per outcome. */
  MAX_MARKETS: envInt(1, 10_000).default(500),
  /** Per HTTP attempt; retries get their own. */
  HTTP_TIMEOUT_MS: envInt(100, 120_000).default(10_000),
  KAFKA_TOPIC: z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a valid Kafka topic name'),
};

/** kafkaEnvSchema is the base so any cross-field rules it carries survive (safeExtend keeps them). */
export const configSchema = kafkaEnvSchema.safeExtend({ ...dynamoEnvSchema.shape, ...rejectsEnvSchema.shape, ...dedupEnvSchema.shape, ...ownSchema });
export type Config = z.output<typeof configSchema>;

/**
 * Exactly the Kafka part of the config: getProducer() keys its cached producer on what it is
 * given, so unrelated settings must not be part of that key.
 */
export function kafkaEnvOf(config: Config): z.output<typeof kafkaEnvSchema> {
  // A plain z.object strips keys it does not know.
  return kafkaEnvSchema.parse(config);
}
