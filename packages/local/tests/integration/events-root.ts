import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempRoot, zipBuffer } from './fixtures.ts';

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/**
 * Fails for a key containing "poison" while that object still exists (it asks the S3 it was given,
 * which checks no signature), so a replay after the object is gone succeeds.
 */
const VALIDATOR = `
export const handler = async (event, context) => {
  const raw = event.detail.object.key;
  const key = decodeURIComponent(raw.replace(/\\+/g, ' '));
  if (key.includes('poison')) {
    const url = process.env.AWS_ENDPOINT_URL_S3 + '/' + event.detail.bucket.name + '/' + key.split('/').map(encodeURIComponent).join('/');
    const res = await fetch(url, { method: 'HEAD' });
    if (res.status === 200) {
      class PoisonError extends Error { name = 'PoisonError'; }
      throw new PoisonError('not a CSV: ' + key);
    }
    return { key, healed: true };
  }
  return { key, raw, requestId: context.awsRequestId, event };
};
`;

const AUDITOR = `
export const handler = async (event, context) => ({ id: event.id, requestId: context.awsRequestId, event });
`;

/**
 * A repository root where one S3 pattern (lake, in/*.csv) feeds two functions and a queue, as
 * infra would wire one EventBridge rule:
 * - validator: async maxRetries 1 + DLQ; throws for "poison" keys
 * - auditor: no async config (Lambda's defaults, no destination)
 * - queues/arrivals.ts subscribes to the same pattern
 */
export async function eventsRoot(): Promise<{ dir: string; remove(): void }> {
  const root = tempRoot();
  const d = root.dir;
  write(join(d, 'pnpm-workspace.yaml'), 'packages: []\n');
  const trigger = `{ kind: 's3', bucket: 'lake', prefix: 'in/', suffix: '.csv' }`;
  const fn = async (name: string, extra: string, source: string) => {
    write(
      join(d, 'functions', name, 'spec.ts'),
      `import { defineFunction } from '@laminar/spec';
export default defineFunction({ name: '${name}', memoryMb: 128, timeoutS: 10, triggers: [${trigger}], ${extra} });
`,
    );
    write(join(d, 'functions', name, 'dist', `${name}.zip`), await zipBuffer({ 'index.mjs': source }));
  };
  await fn('validator', `async: { maxRetries: 1, maxEventAgeS: 3600, onFailure: 'dlq' }`, VALIDATOR);
  await fn('auditor', '', AUDITOR);
  write(
    join(d, 'queues', 'arrivals.ts'),
    `import { defineQueue } from '@laminar/spec';
export default defineQueue({ name: 'arrivals', subscribe: [${trigger}] });
`,
  );
  return root;
}
