import { z } from 'zod';

/**
 * The Kafka part of a function's environment. Secrets are references (a Secrets Manager ARN or an
 * SSM parameter name), never values: the API key and secret are fetched at cold start.
 */
export const kafkaEnvSchema = z.object({
  /** Comma-separated HOST:PORT list. */
  KAFKA_BOOTSTRAP_SERVERS: z.string().min(1),
  /** SASL_SSL for Confluent Cloud / MSK; PLAINTEXT for the local embedded broker. */
  KAFKA_SECURITY_PROTOCOL: z.enum(['SASL_SSL', 'PLAINTEXT']).default('SASL_SSL'),
  KAFKA_SASL_MECHANISM: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default('PLAIN'),
  /** Secrets Manager secret whose JSON is {"username","password"} or {"key","secret"}. */
  KAFKA_CREDENTIALS_SECRET_ARN: z.string().min(1).optional(),
  /** SSM SecureString parameter holding the same JSON. */
  KAFKA_CREDENTIALS_PARAMETER_NAME: z.string().min(1).optional(),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
});

export type KafkaEnv = z.output<typeof kafkaEnvSchema>;
