import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { loadConfig } from './config.ts';
import { Deadline, defaultReserveMs } from './deadline.ts';
import { ClientError, DeadlineExceededError } from './errors.ts';

export interface InitContext<C> {
  config: C;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray: wrap AWS SDK clients with `tracer.captureAWSv3Client(client)` at init; fetch is traced as is. */
  tracer: Tracer;
}

export interface InvocationContext<C, D> extends InitContext<C> {
  deps: D;
  lambda: Context;
  deadline: Deadline;
  /** Runs `work` in an X-Ray subsegment named `name` (errors recorded, then rethrown). */
  trace: <T>(name: string, work: () => Promise<T>) => Promise<T>;
}

export interface HandlerDefinition<S extends z.ZodType, D, E, R> {
  /** zod schema over the environment; parsed once per execution environment. */
  config: S;
  /** Creates clients once per execution environment; warm invocations reuse them. */
  init: (ctx: InitContext<z.output<S>>) => D | Promise<D>;
  handle: (event: E, ctx: InvocationContext<z.output<S>, D>) => Promise<R>;
  /** Overrides the cleanup reserve (default: 10 % of the remaining time, 1–10 s). */
  reserveMs?: (remainingMs: number) => number;
  /**
   * Whether the result goes into the X-Ray trace as metadata (default true, as Powertools does).
   * False for a result that grants something — a presigned URL is a credential for as long as it
   * lives, and whoever may read traces is not whoever may read the bucket.
   */
  traceResponse?: boolean;
}

export type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Wraps domain logic as a Lambda handler: typed config at init, Powertools logger (JSON, request id,
 * cold start) and EMF metrics, one error model. Client errors are logged at WARN and rethrown;
 * anything else is logged at ERROR and rethrown, so Lambda's retries and destinations see it.
 */
export function defineHandler<S extends z.ZodType, D, E, R>(def: HandlerDefinition<S, D, E, R>): LambdaHandler<E, R> {
  const config = loadConfig(def.config);
  const logger = new Logger();
  // A stage of its own for every metric (infra sets LAMINAR_STAGE): stages that share an account
  // and a namespace would otherwise add up into one series, and trip each other's alarms.
  const stage = process.env.LAMINAR_STAGE?.trim();
  // Metrics' own warnings go out as the function's structured log lines, not as plain text.
  const metrics = new Metrics({ logger, ...(stage ? { defaultDimensions: { stage } } : {}) });
  // Off outside Lambda (tests) and with POWERTOOLS_TRACE_ENABLED=false; then every call is a no-op.
  const tracer = new Tracer();
  let deps: Promise<D> | undefined;
  let coldStart = true;

  const trace = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (!parent) return work();
    const sub = parent.addNewSubsegment(name);
    tracer.setSegment(sub);
    try {
      return await work();
    } catch (err) {
      sub.addError(err as Error);
      throw err;
    } finally {
      sub.close();
      tracer.setSegment(parent);
    }
  };

  return async (event, lambda) => {
    logger.addContext(lambda);
    if (coldStart) metrics.captureColdStartMetric(lambda.functionName);
    coldStart = false;
    // The handler's own subsegment under Lambda's, as Powertools' captureLambdaHandler makes it.
    const facade = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    const segment = facade?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (segment) {
      tracer.setSegment(segment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    try {
      deps ??= Promise.resolve(def.init({ config, logger, metrics, tracer })).catch((err: unknown) => {
        deps = undefined;
        throw err;
      });
      const ready = await deps;
      const deadline = new Deadline(lambda, (def.reserveMs ?? defaultReserveMs)(lambda.getRemainingTimeInMillis()));
      let result: R;
      try {
        result = await def.handle(event, { config, logger, metrics, tracer, deps: ready, lambda, deadline, trace });
      } finally {
        deadline.dispose();
      }
      if (segment && def.traceResponse !== false) tracer.addResponseAsMetadata(traceable(result), process.env._HANDLER);
      return result;
    } catch (thrown) {
      const err = deadlineBehind(thrown);
      if (err instanceof ClientError) logger.warn(err.message, { errorType: err.name, details: err.details });
      else logger.error('invocation failed', err as Error);
      if (segment) tracer.addErrorAsMetadata(err as Error);
      throw err;
    } finally {
      segment?.close();
      if (facade) tracer.setSegment(facade);
      // An invocation that recorded nothing (refused input, a failure before the first count) has
      // nothing to publish: Powertools would print a warning saying so on every one of them.
      let published = false;
      try {
        if (metrics.hasStoredMetrics()) {
          metrics.publishStoredMetrics();
          published = true;
        }
      } catch (error) {
        // Powertools refuses some documents only as it publishes them (a metric named like a
        // dimension or metadata key): the work is done, and throwing now would replace its result
        // and have Lambda's retries do it again.
        logger.error('metrics not published', error as Error);
      }
      // Publishing clears what the invocation recorded; anything else leaves it to be cleared
      // here: kept, it would land on the next invocation's metrics.
      if (!published) {
        metrics.clearMetrics();
        metrics.clearDimensions();
        metrics.clearMetadata();
      }
      logger.resetKeys();
    }
  };
}

/**
 * The most JSON of a result the trace records. X-Ray's daemon takes a segment in one UDP datagram
 * of at most 64 KB: a larger result (rss-producer's report over hundreds of feeds, say) would lose
 * the whole handler subsegment, its timings and annotations with it, for a log line only.
 */
export const MAX_TRACED_RESPONSE_BYTES = 16 * 1024;

/** The result as the trace records it: itself when small, else a note of its size. */
export function traceable(result: unknown): unknown {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(result) ?? '');
  } catch {
    return { omitted: 'the response could not be serialized as JSON' };
  }
  if (bytes <= MAX_TRACED_RESPONSE_BYTES) return result;
  return { omitted: `the response is ${bytes} bytes of JSON, more than the ${MAX_TRACED_RESPONSE_BYTES} a trace segment keeps (X-Ray takes segments of up to 64 KB)` };
}

/**
 * The deadline's stop, when what reached the top is an abort it caused: the SDK rejects a request
 * the stop cut short with its own AbortError ("Request aborted", the stop as its cause), and Lambda
 * takes the error's name as the invocation's errorType — the DLQ would say AbortError where the
 * function ran out of time. Call sites that know their signal throw its reason themselves; this
 * catches the ones that do not.
 */
function deadlineBehind(err: unknown): unknown {
  if (err instanceof Error && err.name === 'AbortError' && err.cause instanceof DeadlineExceededError) return err.cause;
  return err;
}
