import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm dev --once --duplicate-events`, the bronze-silver scenario: EventBridge delivers every S3
// event twice, and the demo must show that a duplicate changes nothing.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const state = mkdtempSync(join(tmpdir(), 'laminar-e2e-duplicates-'));
let output = '';
let exitCode: number | null = null;

beforeAll(async () => {
  const dev = spawn(process.execPath, [join(root, 'packages/local/bin/laminar.js'), 'dev', '--once', '--duplicate-events', '--scenario', 'bronze-silver', '--no-console'], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', LAMINAR_STATE_DIR: state, LAMINAR_FIXTURES_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  dev.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  exitCode = await new Promise<number | null>((resolve) => dev.once('exit', resolve));
}, 240_000);

afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('pnpm dev --once --duplicate-events', () => {
  it('passes: every duplicate of a CSV changes nothing, and every file is accounted for once', () => {
    expect(output).not.toContain('FAIL ');
    expect(exitCode, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/✔ bronze-silver\n/);
    // Each validated file's second delivery is answered from the idempotency store.
    expect(output.match(/\(delivery 2\) ✔ the same result as delivery 1/g)?.length).toBe(5);
    // The vanished file's skip is not stored: its second delivery checks again and skips again.
    expect(output).toContain('csv-validator (delivery 2) ✔ skipped again (source-missing)');
    expect(output).toContain('files: 7 CSVs = 5 validated + 1 skipped (gone before it was read) + 1 in the DLQ ✔');
    // Both deliveries of the poison file fail into the DLQ, beside the malformed event.
    expect(output).toContain('laminar-local-csv-validator-dlq: 3 messages = 2 failed CSV deliveries + 1 malformed event ✔');
  });
});
