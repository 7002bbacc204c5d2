export * from './bounded-body.ts';
export * from './concurrency.ts';
export * from './config.ts';
export * from './deadline.ts';
export * from './errors.ts';
export * from './handler.ts';
export { MetricUnit } from '@aws-lambda-powertools/metrics';
