import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsole } from '../../src/console/server.ts';
import { type Local, startLocal } from '../../src/runner.ts';
import { eventsRoot } from './events-root.ts';

// Debian's Chromium (apt-get install chromium): .ci/run installs it. Without it the test fails in
// CI and is skipped on a laptop, saying why.
const CHROMIUM = process.env.LAMINAR_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: the console's browser test needs Chromium (apt-get install chromium)`);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

let root: Awaited<ReturnType<typeof eventsRoot>>;
let local: Local;
let web: ConsoleServer;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  root = await eventsRoot();
  local = await startLocal({ root: root.dir, env: {}, queuesDirectory: false, retryDelayScale: 0.001 });
  web = await startConsole(local, { port: 0, queuePollMs: 100 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await local?.stop();
  root?.remove();
});

const put = (key: string, body = 'order_id\n1\n') => local.s3?.client.send(new PutObjectCommand({ Bucket: local.bucket('lake'), Key: key, Body: body }));

describe.skipIf(!haveChromium)('the local console in Chromium', () => {
  it('shows invocations live, replays a DLQ message with a click, browses S3 — and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(15_000);
    await page.goto(web.url);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');

    // An upload fans out to both functions; their invocations appear without a reload.
    await put('in/orders.csv');
    await page.locator('#inv-rows tr[data-function="validator"]').first().waitFor();
    await page.locator('#inv-rows tr[data-function="auditor"]').first().waitFor();
    expect(await page.locator('#fn-rows tr[data-function="validator"] td').first().textContent()).toBe('1');

    // An invocation triggered from the test through the console's API appears too, with its logs.
    const invoked = await page.evaluate(async () => {
      const res = await fetch('/api/functions/auditor/invoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'from-the-test' }) });
      return (await res.json()) as { requestId: string };
    });
    const row = page.locator(`#inv-rows tr[data-id="${invoked.requestId}#1"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('invoke');
    await row.click();
    await expect.poll(() => page.locator('#inv-detail h3').textContent()).toContain(invoked.requestId);

    // A poison file fails its attempts and lands in the DLQ; once it is gone, Replay heals it.
    await put('in/poison.csv');
    const replay = page.locator('#q-body [data-queue="laminar-local-validator-dlq"] button');
    await replay.waitFor();
    expect(await page.locator('#q-body [data-queue="laminar-local-validator-dlq"] pre').textContent()).toContain('PoisonError: not a CSV: in/poison.csv');
    await local.s3?.client.send(new DeleteObjectCommand({ Bucket: local.bucket('lake'), Key: 'in/poison.csv' }));
    await replay.click();
    await expect.poll(() => page.locator('#q-body [data-queue="laminar-local-validator-dlq"] h3').textContent()).toContain('0 messages');
    await page.locator('#inv-rows tr[data-function="validator"]', { hasText: 'replay from laminar-local-validator-dlq' }).waitFor();
    expect(local.queues.get('laminar-local-validator-dlq')?.depth).toBe(0);

    // The S3 browser lists the bucket's folders and objects, with download links.
    await page.selectOption('#s3-bucket', 'laminar-local-lake');
    await page.locator('#s3-rows button', { hasText: 'in/' }).click();
    const link = page.locator('#s3-rows a', { hasText: 'orders.csv' });
    await link.waitFor();
    const download = await page.evaluate(async (href) => (await fetch(href)).text(), (await link.getAttribute('href')) ?? '');
    expect(download).toBe('order_id\n1\n');

    // The cost estimate, with the durations this session measured.
    await page.locator('#cost-refresh').click();
    await expect.poll(() => page.locator('#cost-rows tr[data-function="validator"] td').nth(2).textContent()).toBe('measured');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses requests that do not come from the console itself', async () => {
    const foreign = await fetch(`${web.url}api/functions/auditor/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{}' });
    expect(foreign.status).toBe(403);
    const form = await fetch(`${web.url}api/functions/auditor/invoke`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(form.status).toBe(415);
    // fetch will not send a Host of its choosing; a DNS-rebound page would.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${web.url}api/state`, { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(403);
  });

  it('keeps the statistics the stream delivered while an older snapshot was still on its way', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    let released = false;
    // The snapshot is taken, then an invocation's stats event overtakes it on the way to the page.
    await page.route(
      '**/api/state',
      async (route) => {
        const response = await route.fetch();
        await local.invoke('auditor', { id: 'while-the-snapshot-travels' }, { invocationType: 'RequestResponse' });
        await page.locator('#inv-rows tr[data-function="auditor"]', { hasText: 'invoke' }).last().waitFor();
        await route.fulfill({ response });
        released = true;
      },
      { times: 1 },
    );
    await page.goto(web.url);
    await expect.poll(() => released).toBe(true);
    await page.locator('#services li').first().waitFor({ state: 'attached' });
    const latest = (await (await fetch(`${web.url}api/state`)).json()) as { stats: { functionName: string; invocations: number }[] };
    const invocations = latest.stats.find((s) => s.functionName === 'auditor')?.invocations;
    expect(invocations).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#fn-rows tr[data-function="auditor"] td').first().textContent()).toBe(String(invocations));
    await page.close();
  });

  it('takes the page\'s own POSTs when opened at localhost, and an event whose characters straddle two reads whole', async () => {
    const port = new URL(web.url).port;
    // The body in two writes, split inside the two bytes of "é".
    const text = JSON.stringify({ key: 'in/café résumé.csv' });
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request(`${web.url}api/functions/auditor/invoke`, { method: 'POST', headers: { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'content-type': 'application/json', 'content-length': bytes.length } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.write(bytes.subarray(0, cut));
      setTimeout(() => req.end(bytes.subarray(cut)), 50);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).result.event).toEqual({ key: 'in/café résumé.csv' });
  });

  it('lists a folder level whole past a folder of more than a page, and says when a level has more objects than it shows', async () => {
    const bucket = local.bucket('lake');
    // Outside the rules' in/*.csv: no invocations.
    for (let i = 0; i < 1_100; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => put(`big/part-${String(i + j).padStart(5, '0')}.txt`, 'x')));
    await put('later/one.txt', 'x');
    await put('top-1.txt', 'x');
    await put('zz-top-2.txt', 'x');
    const level = (await (await fetch(`${web.url}api/s3/${bucket}?prefix=`)).json()) as { folders: string[]; objects: { key: string }[]; truncated: boolean };
    expect(level.folders).toEqual(expect.arrayContaining(['big/', 'later/']));
    expect(level.objects.map((o) => o.key)).toEqual(expect.arrayContaining(['top-1.txt', 'zz-top-2.txt']));
    expect(level.truncated).toBe(false);
    const inside = (await (await fetch(`${web.url}api/s3/${bucket}?prefix=big/`)).json()) as { objects: { key: string }[]; truncated: boolean };
    expect([inside.objects.length, inside.truncated]).toEqual([500, true]);
  });

  it('stops reading an object from S3 when the browser cancels its download', async () => {
    const bucket = local.bucket('lake');
    await put('downloads/big.bin', 'y'.repeat(8 * 1024 * 1024));
    // More cancelled downloads than the runner's S3 client has sockets (64): it would run out if
    // each kept its S3 response open.
    for (let i = 0; i < 70; i++) {
      const controller = new AbortController();
      const res = await fetch(`${web.url}api/s3/${bucket}/object?key=downloads/big.bin`, { signal: controller.signal });
      const reader = res.body?.getReader();
      await reader?.read();
      controller.abort();
    }
    const whole = await fetch(`${web.url}api/s3/${bucket}/object?key=downloads/big.bin`);
    expect((await whole.arrayBuffer()).byteLength).toBe(8 * 1024 * 1024);
  });
});
