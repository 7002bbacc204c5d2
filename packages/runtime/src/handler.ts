import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { loadConfig } from './config.ts';
import { Deadline, defaultReserveMs } from './deadline.ts';
import { ClientError } from './errors.ts';

export interface InitContext<C> {
  config: C;
  logger: Logger;
  metrics: Metrics;
}

export interface InvocationContext<C, D> extends InitContext<C> {
  deps: D;
  lambda: Context;
  deadline: Deadline;
}

export interface HandlerDefinition<S extends z.ZodType, D, E, R> {
  /** zod schema over the environment; parsed once per execution environment. */
  config: S;
  /** Creates clients once per execution environment; warm invocations reuse them. */
  init: (ctx: InitContext<z.output<S>>) => D | Promise<D>;
  handle: (event: E, ctx: InvocationContext<z.output<S>, D>) => Promise<R>;
  /** Overrides the cleanup reserve (default: 10 % of the remaining time, 1–10 s). */
  reserveMs?: (remainingMs: number) => number;
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
  const metrics = new Metrics();
  let deps: Promise<D> | undefined;
  let coldStart = true;

  return async (event, lambda) => {
    logger.addContext(lambda);
    if (coldStart) metrics.captureColdStartMetric(lambda.functionName);
    coldStart = false;
    try {
      deps ??= Promise.resolve(def.init({ config, logger, metrics })).catch((err: unknown) => {
        deps = undefined;
        throw err;
      });
      const ready = await deps;
      const deadline = new Deadline(lambda, (def.reserveMs ?? defaultReserveMs)(lambda.getRemainingTimeInMillis()));
      return await def.handle(event, { config, logger, metrics, deps: ready, lambda, deadline });
    } catch (err) {
      if (err instanceof ClientError) logger.warn(err.message, { errorType: err.name, details: err.details });
      else logger.error('invocation failed', err as Error);
      throw err;
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
