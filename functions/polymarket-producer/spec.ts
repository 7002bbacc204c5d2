import { rejectsSpec } from '@laminar/aws/spec';
import { dedupSpec } from '@laminar/dedup/spec';
import { kafkaProducerSpec } from '@laminar/kafka/spec';
import { defineFunction } from '@laminar/spec';

const kafka = kafkaProducerSpec({ clientId: 'polymarket-producer', topic: 'polymarket-prices' });
// Market records it cannot use, each kept once with its reasons and the record as Gamma sent it.
const rejects = rejectsSpec({ functionName: 'polymarket-producer' });
// Ticks already produced, and each outcome's latest price (LatestValueStore) in the same table.
const dedup = dedupSpec({ table: 'polymarket-dedup', ttlDays: 7 });

export default defineFunction({
  name: 'polymarket-producer',
  description: 'Fetches active Polymarket markets and outcome prices and produces new price ticks to Kafka.',
  entry: './src/handler.ts',
  memoryMb: 256,
  timeoutS: 300,
  runtime: kafka.runtime,
  architecture: kafka.architecture,
  layers: [...kafka.layers],
  env: {
    GAMMA_API_URL: 'https://gamma-api.polymarket.com',
    CLOB_API_URL: 'https://clob.polymarket.com',
    MAX_MARKETS: '500',
    HTTP_TIMEOUT_MS: '10000',
    ...dedup.env,
    ...kafka.env,
    ...rejects.env,
    POWERTOOLS_SERVICE_NAME: 'polymarket-producer',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  secrets: [...kafka.secrets],
  tables: [dedup.table],
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: [
    'MarketsFetched',
    'MarketsAccepted',
    'MarketsRejected',
    'RejectsNotKept',
    'MarketsRepeated',
    'PricesFromClob',
    'PricesFromGamma',
    'OutcomesUnpriced',
    'GammaPricesUnusable',
    'ClobFailedBatches',
    'TicksBuilt',
    'TicksNew',
    'TicksDuplicate',
    'TicksInFlight',
    'TicksReleased',
    'TicksProduced',
    'ProducedBytes',
    'DedupRefreshFailed',
  ],
  metricAlarms: [
    { metric: 'RejectsNotKept', description: 'rejected Gamma market records could not be written under rejected/polymarket-producer/ in the lake bucket (the log says why); each run tries again' },
  ],
  triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }],
  permissions: [
    dedup.permission,
    rejects.permission,
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
  local: {
    env: {
      GAMMA_API_URL: '{fixtures}/gamma',
      CLOB_API_URL: '{fixtures}/clob',
      ...kafka.localEnv,
    },
  },
});
