import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKafkaTopic } from '@laminar/emulators';
import { type Local, startLocal } from '@laminar/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/run.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
let local: Local;

beforeAll(async () => {
  // The zip as built, unpacked as Lambda's /var/task; the Kafka layer's zip unpacked as its /opt,
  // reached through NODE_PATH only. Nothing above the task root holds the Kafka client (pnpm keeps
  // it out of the root node_modules), so a produced message proves the bundle finds it in the layer.
  local = await startLocal({ root, functions: ['rss-producer'], queuesDirectory: false, fixturesPort: 0, tracing: false, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
});
afterAll(async () => {
  await local?.stop();
});

describe('the built zip with the Kafka layer, run as Lambda runs it', () => {
  it('loads the native client from the layer alone and produces every new item to Kafka', async () => {
    expect(existsSync(join(root, 'node_modules', '@confluentinc', 'kafka-javascript'))).toBe(false);

    const { default: scheduled } = await import('../../events/scheduled.json', { with: { type: 'json' } });
    const res = await local.invoke('rss-producer', scheduled);
    expect(res.error).toBeUndefined();
    // The environment's /opt: the layer's zip, unpacked by the runner for the first invocation.
    const layers = readdirSync(join(root, '.laminar', 'layers'));
    expect(layers.some((d) => d.startsWith('kafka-layer-'))).toBe(true);
    const { totals } = res.result as RunResult;
    expect(totals.produced).toBeGreaterThan(0);
    expect(totals.produced).toBe(totals.new);

    const messages = await readKafkaTopic(local.kafka?.bootstrapServers as string, local.topics['rss-items'] as string);
    expect(messages).toHaveLength(totals.produced);
    expect(new Set(messages.map((m) => m.key)).size).toBe(totals.produced);
  });
});
