import { rejectsSpec } from '@laminar/aws/spec';
import { dedupSpec } from '@laminar/dedup/spec';
import { kafkaProducerSpec } from '@laminar/kafka/spec';
import { defineFunction } from '@laminar/spec';

const kafka = kafkaProducerSpec({ clientId: 'rss-producer', topic: 'rss-items' });
// Entries it cannot use (no title and no link, unreadable), each kept once with its reasons.
const rejects = rejectsSpec({ functionName: 'rss-producer' });
// Items already produced; the feeds' validators (src/feed-state.ts) live in the same table, through
// calls among the store's own.
const dedup = dedupSpec({ table: 'rss-dedup', ttlDays: 7 });

export default defineFunction({
  name: 'rss-producer',
  description: 'Polls RSS/Atom feeds, drops items already seen and produces new ones to Kafka.',
  entry: './src/handler.ts',
  memoryMb: 256,
  timeoutS: 300,
  runtime: kafka.runtime,
  architecture: kafka.architecture,
  layers: [...kafka.layers],
  env: {
    FEED_URLS: 'https://feeds.bbci.co.uk/news/world/rss.xml,https://www.theguardian.com/world/rss,https://rss.nytimes.com/services/xml/rss/nyt/World.xml',
    FETCH_TIMEOUT_MS: '10000',
    MAX_FEED_BYTES: '5242880',
    ...dedup.env,
    ...kafka.env,
    ...rejects.env,
    POWERTOOLS_SERVICE_NAME: 'rss-producer',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
  },
  secrets: [...kafka.secrets],
  tables: [dedup.table],
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: [
    'FeedsFailed',
    'FeedsStopped',
    'ItemsFetched',
    'ItemsNew',
    'ItemsDuplicate',
    'ItemsInFlight',
    'ItemsReleased',
    'ItemsRejected',
    'RejectsNotKept',
    'MessagesProduced',
    'DedupRefreshFailed',
  ],
  // Runs too short for their feed list leave feeds unread (each run starts at another feed, so all
  // are read now and then), and nothing fails. Bad feeds (FeedsFailed) are the publishers'
  // business; these are ours.
  metricAlarms: [
    { metric: 'FeedsStopped', description: "feeds were not read because the invocation's time ran out: raise the timeout or FEED_CONCURRENCY, or split the feed list" },
    { metric: 'RejectsNotKept', description: 'rejected feed entries could not be written under rejected/rss-producer/ in the lake bucket (the log says why); their feeds are read whole again each run until they are' },
  ],
  triggers: [{ kind: 'schedule', expression: 'rate(15 minutes)' }],
  permissions: [
    dedup.permission,
    rejects.permission,
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
  local: {
    env: {
      FEED_URLS: '{fixtures}/feeds/world.xml,{fixtures}/feeds/tech-atom.xml,{fixtures}/feeds/science-rdf.xml',
      ...kafka.localEnv,
    },
  },
});
