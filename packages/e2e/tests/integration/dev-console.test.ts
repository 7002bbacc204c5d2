import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The whole pipeline as `pnpm dev --once --keep` runs it — every built function, the embedded emulators,
// the scenarios and one firing of each schedule — seen through its console in Debian's Chromium.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CHROMIUM = process.env.LAMINAR_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: this test needs Chromium (apt-get install chromium)`);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

// The run's state (seen items, S3, queues) in a folder of its own: the developer's .laminar/ is
// left as it was, so the next `pnpm dev` still counts as new what it has not yet produced.
const state = mkdtempSync(join(tmpdir(), 'laminar-e2e-state-'));
let dev: ChildProcess;
let output = '';
let url = '';
let browser: Browser;

/** Resolves when the dev output matches (or fails with the output so far, when dev exits). */
function waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(output);
      if (m) {
        dev.stdout?.off('data', check);
        resolve(m);
      }
    };
    dev.stdout?.on('data', check);
    dev.once('exit', (code) => reject(new Error(`laminar dev exited (${code}) before ${pattern}:\n${output.slice(-3000)}`)));
    check();
  });
}

beforeAll(async () => {
  if (!haveChromium) return;
  dev = spawn(process.execPath, [join(root, 'packages/local/bin/laminar.js'), 'dev', '--once', '--keep'], {
    cwd: root,
    env: { ...process.env, LAMINAR_CONSOLE_PORT: '0', NO_COLOR: '1', LAMINAR_STATE_DIR: state },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  dev.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  url = (await waitFor(/console: (http:\/\/127\.0\.0\.1:\d+\/)/))[1] as string;
  // The scenarios ran and each schedule fired once: the runner now just stays up.
  await waitFor(/Ctrl-C to stop\./);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    const exited = new Promise((resolve) => dev.once('exit', resolve));
    dev.kill('SIGINT');
    await exited;
  }
  rmSync(state, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)('pnpm dev, seen through its console', () => {
  it('ran every scenario to a pass: the sample CSVs reconcile row by row, the poison file reached the DLQ', () => {
    expect(output).not.toContain('FAIL ');
    expect(output).toMatch(/✔ bronze-silver\n/);
    // The samples' rows, over the first delivery of each validated file: orders.csv holds 6 bad rows.
    expect(output).toContain('rows read 38 = valid 32 + rejected 6 over 5 validated files (and 1 skipped or quarantined whole, 1 failed into the DLQ: not read row by row, rows not counted) ✔');
    expect(output).toMatch(/poison file: failed after 3 attempts → laminar-local-csv-validator-dlq/);
  });

  it('shows the pipeline graph, every function’s invocations and statistics, the DLQs, S3 and the cost', async () => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');

    // The architecture graph from the specs.
    await page.locator('#graph-body img').waitFor();
    await expect.poll(() => page.locator('#graph-body img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(500);
    // Invocations of this run, from scenarios, S3 events, schedules and the Kafka mapping.
    for (const fn of ['pdf-manifest', 'csv-validator', 'object-audit', 'rss-producer', 'polymarket-producer', 'store-inventory']) {
      await page.locator(`#inv-rows tr[data-function="${fn}"]`).first().waitFor();
      expect(Number(await page.locator(`#fn-rows tr[data-function="${fn}"] td`).first().textContent())).toBeGreaterThan(0);
    }
    // A live invocation, started from the console's own button, appears without a reload.
    const before = await page.locator('#inv-rows tr[data-function="store-inventory"]').count();
    await page.locator('#fn-rows tr[data-function="store-inventory"] button').click();
    await expect.poll(() => page.locator('#inv-rows tr[data-function="store-inventory"]').count()).toBe(before + 1);
    // Its trace: the handler and the Firehose calls, next to its logs.
    await page.locator('#inv-rows tr[data-function="store-inventory"]').first().click();
    await page.locator('#inv-detail table.spans td', { hasText: 'Firehose' }).first().waitFor();

    // The malformed event the bronze → silver scenario sends is in csv-validator's DLQ.
    await page.locator('#q-body [data-queue="laminar-local-csv-validator-dlq"] button').first().waitFor();
    // The lake bucket, with what the pipeline wrote.
    await page.selectOption('#s3-bucket', 'laminar-local-lake');
    // Exact names: a text filter alone ignores case, and the sample seeds a Bronze/ decoy beside bronze/.
    for (const folder of ['bronze/', 'silver/', 'quarantine/', 'inventory/']) await page.getByRole('button', { name: folder, exact: true }).and(page.locator('#s3-rows button')).waitFor();
    // The cost estimate.
    await page.locator('#cost-rows tr[data-function="store-inventory"]').waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console-dev.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
