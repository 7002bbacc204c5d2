import { defineQueue } from '@laminar/spec';

export default defineQueue({
  name: 'bronze-arrivals',
  description: 'Every CSV landing in bronze/, for downstream consumers that pull at their own pace.',
  // Same pattern as csv-validator and object-audit: all three hang off one EventBridge rule.
  subscribe: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv', alsoUpperCaseSuffix: true }],
  retentionDays: 4,
});
