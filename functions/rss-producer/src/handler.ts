import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { createDynamoDBClient, createS3Client, dynamoOptionsFromEnv, keepRejectedRecords, parameterClientConfig, s3OptionsFromEnv } from '@laminar/aws';
import { DedupStore, invocationClaims, publishOnce } from '@laminar/dedup';
import { getProducer, kafkaEnvSchema, tracedProducer } from '@laminar/kafka';
import { defineHandler, MetricUnit, parseInput } from '@laminar/runtime';
import { configSchema } from './config.ts';
import { resolveFeedUrls } from './feed-list.ts';
import { DynamoFeedState } from './feed-state.ts';
import { scheduledEventSchema } from './input.ts';
import { type RunResult, runOnce, validatorTtlSeconds } from './run.ts';

export type { RunResult };

/** The dedup scope of RSS items; feed validators live beside them under "feedstate#". */
export const DEDUP_SCOPE = 'rss';

let ssm: SSMProvider | undefined;
/**
 * Reads of FEED_URLS_PARAMETER that fail in seconds, not never; cached 5 min (a changed list
 * applies within that). Made on first use: with FEED_URLS inline no SSM client is made at all.
 */
const feedListParameters = () => (ssm ??= new SSMProvider({ clientConfig: parameterClientConfig() }));

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, logger, tracer }) => {
    const dynamo = tracer.captureAWSv3Client(createDynamoDBClient(dynamoOptionsFromEnv(config)));
    const ttlSeconds = config.DEDUP_TTL_DAYS * 86_400;
    const s3 = tracer.captureAWSv3Client(createS3Client(s3OptionsFromEnv(config)));
    return {
      // keptKeys: rejected records this environment has seen kept, so a warm one asks S3 once per record.
      keepRejected: { client: s3, bucket: config.REJECTS_BUCKET, prefix: config.REJECTS_PREFIX, rejectedBy: 'rss-producer', keptKeys: new Set<string>() },
      // Only the Kafka settings: getProducer keys its per-environment producer on what it is given.
      kafkaEnv: kafkaEnvSchema.parse(config),
      store: new DedupStore({ client: dynamo, tableName: config.DEDUP_TABLE, ttlSeconds }),
      // Validators lapse before the records of the items they hide can (validatorTtlSeconds).
      feedState: new DynamoFeedState({ client: dynamo, tableName: config.DEDUP_TABLE, ttlSeconds: validatorTtlSeconds(ttlSeconds), log: logger }),
    };
  },
  handle: async (event: unknown, { config, deps, deadline, logger, metrics, lambda, trace }): Promise<RunResult> => {
    const input = parseInput(scheduledEventSchema, event ?? {});
    if ('id' in input) logger.appendKeys({ scheduledEventId: input.id, scheduledTime: input.time });

    const feedUrls = await resolveFeedUrls(config, (name) => feedListParameters().get(name, { maxAge: 300 }));
    const result = await runOnce(
      {
        feedUrls,
        topic: config.KAFKA_TOPIC,
        timeoutMs: config.FETCH_TIMEOUT_MS,
        maxBytes: config.MAX_FEED_BYTES,
        concurrency: config.FEED_CONCURRENCY,
      },
      {
        feedState: deps.feedState,
        // Claims name this invocation and last while it may run: a retry then tells, and outlives,
        // claims its killed earlier attempt left (@laminar/dedup's README).
        publishOnce: (a) =>
          publishOnce({ store: deps.store, scope: DEDUP_SCOPE, ...invocationClaims(lambda), ...a }),
        // The Kafka package keeps one producer per execution environment (and replaces it after a
        // fatal error), so asking each invocation costs nothing warm.
        producer: async () => tracedProducer(await getProducer(deps.kafkaEnv), trace),
        // Counted as soon as it is known, also when producing then fails the run.
        keepRejected: async (records) => {
          const kept = await keepRejectedRecords(records, { ...deps.keepRejected, signal: deadline.signal });
          metrics.addMetric('RejectsNotKept', MetricUnit.Count, kept.failed);
          return kept;
        },
        deadline,
        log: logger,
        // Recorded before producing: a run that then fails (a flush timeout) still reports what
        // its feeds gave — the runtime publishes stored metrics whether the handler throws or not.
        onFetched: (counts) => {
          metrics.addMetric('FeedsFailed', MetricUnit.Count, counts.failedFeeds);
          metrics.addMetric('FeedsStopped', MetricUnit.Count, counts.stoppedFeeds);
          metrics.addMetric('ItemsFetched', MetricUnit.Count, counts.fetched);
          metrics.addMetric('ItemsRejected', MetricUnit.Count, counts.rejected);
        },
        // Recorded when producing is over, also when the run then fails: items a failed flush
        // delivered are done (the retry counts them duplicates), so only this run can count them;
        // those it did not are released, so that ItemsFetched = ItemsNew + ItemsDuplicate +
        // ItemsInFlight + ItemsRejected + ItemsReleased holds for a failed run too.
        onProduced: (counts) => {
          metrics.addMetric('ItemsNew', MetricUnit.Count, counts.new);
          metrics.addMetric('ItemsDuplicate', MetricUnit.Count, counts.duplicate);
          metrics.addMetric('ItemsInFlight', MetricUnit.Count, counts.inFlight);
          metrics.addMetric('ItemsReleased', MetricUnit.Count, counts.released);
          metrics.addMetric('MessagesProduced', MetricUnit.Count, counts.produced);
          metrics.addMetric('DedupRefreshFailed', MetricUnit.Count, counts.refreshFailed);
        },
      },
    );

    const { totals, rejects } = result;
    // A zero too when there was nothing to keep: the alarm then sees every run.
    if (totals.rejected === 0) metrics.addMetric('RejectsNotKept', MetricUnit.Count, 0);
    logger.info('run complete', { totals, rejects, feeds: result.feeds });
    return result;
  },
});
