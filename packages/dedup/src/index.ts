export { type ClaimingInvocation, EarlierAttemptClaimsError, invocationClaims, invocationLeaseMs, type PartiallyPublished, type PublishOnceArgs, type PublishOutcome, publishOnce, type WarnLogger, warnRefreshFailed } from './publish.ts';
export { dedupEnvSchema } from './config.ts';
export { DEDUP_ACTIONS, dedupSpec } from './spec.ts';
export { type ClaimOptions, type ClaimResult, DedupStore, type DedupOptions } from './store.ts';
// Table creation is generic over table kinds; re-exported here for callers that only know dedup.
export { ensureTable } from '@laminar/aws';
export { type AdvanceResult, type LatestChange, type LatestRenewal, type LatestValue, type LatestValueOptions, LatestValueStore, type RenewResult } from './latest.ts';
