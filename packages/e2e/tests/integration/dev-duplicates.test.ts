import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm dev --once --duplicate-events`, the bronze-silver scenario: EventBridge delivers every S3
// event twice, and the demo must show that a duplicate changes nothing.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const state = mkdtempSync(join(tmpdir(), 'laminar-e2e-duplicates-'));
let dev: ChildProcess | undefined;
let output = '';
let exitCode: number | null = null;

// The embedded emulators and fixtures, whatever the developer's shell points elsewhere.
const OUTSIDE = ['LAMINAR_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'LAMINAR_DYNAMODB_ENDPOINT', 'AWS_ENDPOINT_URL_DYNAMODB', 'KAFKA_BOOTSTRAP_SERVERS', 'LAMINAR_RETRY_DELAY_SCALE'];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OUTSIDE.includes(k)));

beforeAll(async () => {
  const child = spawn(process.execPath, [join(root, 'packages/local/bin/laminar.js'), 'dev', '--once', '--duplicate-events', '--scenario', 'bronze-silver', '--no-console'], {
    cwd: root,
    env: { ...env, NO_COLOR: '1', LAMINAR_STATE_DIR: state, LAMINAR_FIXTURES_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev = child;
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
}, 240_000);

afterAll(async () => {
  // A run cut off by the timeout is stopped before its state folder goes.
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    const exited = new Promise((resolve) => dev?.once('exit', resolve));
    dev.kill('SIGINT');
    await exited;
  }
  rmSync(state, { recursive: true, force: true });
});

describe('pnpm dev --once --duplicate-events', () => {
  it('passes: every duplicate of a CSV changes nothing, and every file is accounted for once', () => {
    expect(output).not.toContain('FAIL ');
    expect(exitCode, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/✔ bronze-silver\n/);
    // Each validated file's second delivery is answered from the idempotency store.
    expect(output.match(/csv-validator \(delivery 2\) ✔ the same result as delivery 1/g)?.length).toBe(5);
    // The vanished file's skip is not stored: its second delivery checks again and skips again.
    expect(output).toContain('csv-validator (delivery 2) ✔ skipped again (source-missing)');
    expect(output).toContain('files: 7 CSVs = 5 validated + 1 skipped (gone before it was read) + 1 in the DLQ ✔');
    // Both deliveries of the poison file fail into the DLQ, beside the malformed event.
    expect(output).toContain('laminar-local-csv-validator-dlq: 3 messages = 2 deliveries of bronze/poison.csv + 1 malformed event ✔');
    // object-audit records each CSV's arrival once (the poison file's too): whichever delivery
    // finishes second finds the ledger item there, and nothing goes to its DLQ.
    expect(output.match(/object-audit \(delivery [12]\) ✔ recorded: a new ledger item/g)?.length).toBe(7);
    expect(output.match(/object-audit \(delivery [12]\) ✔ already recorded: the redelivery adds no item/g)?.length).toBe(7);
    expect(output.match(/ {2}audit ledger: 1 item \[/g)?.length).toBe(7);
    expect(output).toContain('laminar-local-object-audit-dlq: 0 messages, expected 0 (object-audit records every arrival) ✔');
  });
});
