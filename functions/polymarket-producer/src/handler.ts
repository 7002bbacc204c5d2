import { createDynamoDBClient, createS3Client, dynamoOptionsFromEnv, keepRejectedRecords, s3OptionsFromEnv } from '@laminar/aws';
import { DedupStore, LatestValueStore } from '@laminar/dedup';
import { getProducer, tracedProducer } from '@laminar/kafka';
import { defineHandler, MetricUnit } from '@laminar/runtime';
import { configSchema, kafkaEnvOf } from './config.ts';
import { type RunResult, runOnce } from './run.ts';
import { parseTrigger } from './trigger.ts';

export type { RunResult };

export const handler = defineHandler({
  config: configSchema,
  init: ({ config, tracer }) => {
    const dynamo = tracer.captureAWSv3Client(createDynamoDBClient(dynamoOptionsFromEnv(config)));
    const table = { client: dynamo, tableName: config.DEDUP_TABLE, ttlSeconds: config.DEDUP_TTL_DAYS * 86_400 };
    const s3 = tracer.captureAWSv3Client(createS3Client(s3OptionsFromEnv(config)));
    return {
      // keptKeys: rejected records this environment has seen kept, so a warm one asks S3 once per record.
      keepRejected: { client: s3, bucket: config.REJECTS_BUCKET, prefix: config.REJECTS_PREFIX, rejectedBy: 'polymarket-producer', keptKeys: new Set<string>() },
      store: new DedupStore(table),
      latest: new LatestValueStore(table),
      kafkaEnv: kafkaEnvOf(config),
    };
  },
  handle: async (event: unknown, { config, deps, deadline, logger, metrics, lambda, trace }): Promise<RunResult> => {
    const trigger = parseTrigger(event);
    logger.appendKeys({ trigger: trigger.kind, ...(trigger.kind === 'schedule' ? { scheduledAt: trigger.time } : {}) });
    // The execution environment's producer: created on the first invocation, reused while warm,
    // replaced after a failed send.
    const producer = tracedProducer(await getProducer(deps.kafkaEnv), trace);

    const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
    const result = await runOnce({
      config,
      store: deps.store,
      latest: deps.latest,
      producer,
      deadline,
      // Aborts HTTP requests (and waits between retries) in flight when the reserve is reached, so
      // the invocation fails with a clear error rather than being killed by Lambda's timeout.
      signal: deadline.signal,
      invocation: lambda,
      // Counted as soon as it is known, also when producing then fails the run.
      keepRejected: async (records) => {
        const kept = await keepRejectedRecords(records, { ...deps.keepRejected, signal: deadline.signal });
        count('RejectsNotKept', kept.failed);
        return kept;
      },
      log: { info: (message, attributes = {}) => logger.info(message, attributes), warn: (message, attributes = {}) => logger.warn(message, attributes) },
      // Recorded before producing: a run that then fails (a flush timeout) still reports what
      // it read — the runtime publishes stored metrics whether the handler throws or not.
      onBuilt: ({ markets, prices, ticks }) => {
        count('MarketsFetched', markets.fetched);
        count('MarketsAccepted', markets.accepted);
        count('MarketsRejected', markets.rejected);
        count('MarketsRepeated', markets.repeated);
        count('PricesFromClob', prices.clob);
        count('PricesFromGamma', prices.gamma);
        count('OutcomesUnpriced', prices.unpriced);
        count('GammaPricesUnusable', prices.gammaUnusable);
        count('ClobFailedBatches', prices.clobFailedBatches);
        count('TicksBuilt', ticks);
      },
      // Recorded when producing is over, also when the run then fails: ticks a failed flush
      // delivered are done (the retry counts them duplicates), so only this run can count them.
      onProduced: (produced) => {
        count('TicksNew', produced.new);
        count('TicksDuplicate', produced.duplicate);
        count('TicksInFlight', produced.inFlight);
        // TicksBuilt = TicksNew + TicksDuplicate + TicksInFlight + TicksReleased, a failed flush's run too.
        count('TicksReleased', produced.released);
        count('TicksProduced', produced.produced);
        metrics.addMetric('ProducedBytes', MetricUnit.Bytes, produced.bytes);
        count('DedupRefreshFailed', produced.refreshFailed);
      },
    });
    // A zero too when there was nothing to keep: the alarm then sees every run.
    if (result.markets.rejected === 0) count('RejectsNotKept', 0);
    logger.info('price ticks produced', {
      markets: result.markets,
      rejects: result.rejects,
      prices: result.prices,
      ticks: result.ticks,
      new: result.new,
      duplicate: result.duplicate,
      inFlight: result.inFlight,
      produced: result.produced,
      flushMs: result.flushMs,
    });
    return result;
  },
});
