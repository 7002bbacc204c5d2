import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'rss-producer',
  description: 'Polls RSS/Atom feeds, drops items already seen and produces new ones to Kafka.',
  entry: './src/handler.ts',
  memoryMb: 256,
  timeoutS: 300,
  // The Kafka layer's native client is built for x86_64.
  architecture: 'x86_64',
  layers: ['kafka-layer'],
  env: {
    FEED_URLS: 'https://feeds.bbci.co.uk/news/world/rss.xml,https://www.theguardian.com/world/rss,https://rss.nytimes.com/services/xml/rss/nyt/World.xml',
    FETCH_TIMEOUT_MS: '10000',
    MAX_FEED_BYTES: '5242880',
    DEDUP_TABLE: { ref: { table: 'rss-dedup' } },
    DEDUP_TTL_DAYS: '7',
    KAFKA_TOPIC: { ref: { topic: 'rss-items' } },
    KAFKA_BOOTSTRAP_SERVERS: { ref: { setting: 'kafkaBootstrapServers' } },
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'PLAIN',
    KAFKA_CLIENT_ID: 'rss-producer',
    POWERTOOLS_SERVICE_NAME: 'rss-producer',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  secrets: [{ name: 'KAFKA_CREDENTIALS_SECRET_ARN', from: 'secretsmanager', id: 'kafka-credentials' }],
  tables: [{ name: 'rss-dedup', kind: 'dedup' }],
  triggers: [{ kind: 'schedule', expression: 'rate(15 minutes)' }],
  permissions: [
    {
      actions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'],
      resource: { table: 'rss-dedup' },
    },
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
  local: {
    env: {
      FEED_URLS: '{fixtures}/feeds/world.xml,{fixtures}/feeds/tech-atom.xml,{fixtures}/feeds/science-rdf.xml',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    },
  },
});
