import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'polymarket-producer',
  description: 'Fetches active Polymarket markets and outcome prices and produces new price ticks to Kafka.',
  entry: './src/handler.ts',
  memoryMb: 256,
  timeoutS: 300,
  // The Kafka layer's native client is built for x86_64.
  architecture: 'x86_64',
  layers: ['kafka-layer'],
  env: {
    GAMMA_API_URL: 'https://gamma-api.polymarket.com',
    CLOB_API_URL: 'https://clob.polymarket.com',
    MAX_MARKETS: '500',
    HTTP_TIMEOUT_MS: '10000',
    DEDUP_TABLE: { ref: { table: 'polymarket-dedup' } },
    DEDUP_TTL_DAYS: '7',
    KAFKA_TOPIC: { ref: { topic: 'polymarket-prices' } },
    KAFKA_BOOTSTRAP_SERVERS: { ref: { setting: 'kafkaBootstrapServers' } },
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'PLAIN',
    KAFKA_CLIENT_ID: 'polymarket-producer',
    POWERTOOLS_SERVICE_NAME: 'polymarket-producer',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  secrets: [{ name: 'KAFKA_CREDENTIALS_SECRET_ARN', from: 'secretsmanager', id: 'kafka-credentials' }],
  tables: [{ name: 'polymarket-dedup', kind: 'dedup' }],
  triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }],
  permissions: [
    {
      actions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
      resource: { table: 'polymarket-dedup' },
    },
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
  local: {
    env: {
      GAMMA_API_URL: '{fixtures}/gamma',
      CLOB_API_URL: '{fixtures}/clob',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    },
  },
});
