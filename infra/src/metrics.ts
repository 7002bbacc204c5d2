// The metrics each function emits are its spec's `metrics` (they land in POWERTOOLS_METRICS_NAMESPACE
// with the dimensions `service` = POWERTOOLS_SERVICE_NAME and `stage`, which the runtime adds).

/**
 * Emitted by @laminar/runtime's handler wrapper for every function on a cold start, with the
 * dimensions `service` and `function_name` (Powertools captureColdStartMetric).
 */
export const COLD_START_METRIC = 'ColdStart';
