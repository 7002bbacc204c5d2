import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/args.ts';
import { type ConsoleServer, startConsole } from '../../src/console/server.ts';
import { ThrottledError } from '../../src/invoker.ts';
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

  it('shows the folder clicked last when a slower listing of the one left answers after it', async () => {
    await put('deep/y.txt', 'y');
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let asked = 0;
    let answered = 0;
    // Every listing of the bucket's top level takes 1.5 s.
    await page.route(
      (url) => url.pathname.startsWith('/api/s3/') && url.search === '?prefix=',
      async (route) => {
        asked++;
        const response = await route.fetch();
        await sleep(1_500);
        await route.fulfill({ response });
        answered++;
      },
    );
    await page.goto(web.url);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
    await page.selectOption('#s3-bucket', 'laminar-local-lake');
    const deep = page.locator('#s3-rows button', { hasText: 'deep/' });
    await deep.waitFor();
    await expect.poll(() => answered, { timeout: 10_000 }).toBe(asked);
    // A queues event refreshes the listing shown (the top level); deep/ is clicked while it travels.
    const before = asked;
    web.state.queuesChanged();
    await expect.poll(() => asked).toBeGreaterThan(before);
    await deep.click();
    await page.locator('#s3-rows a', { hasText: 'y.txt' }).waitFor();
    await expect.poll(() => answered, { timeout: 10_000 }).toBe(asked);
    await sleep(200);
    expect(await page.locator('#s3-path').textContent()).toBe('s3://laminar-local-lake/deep/');
    expect(await page.locator('#s3-rows tr td:first-child').allTextContents()).toEqual(['.. (up)', 'y.txt']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('re-lists the S3 folder shown when an object under it is written or removed, whether or not a rule watches it', async () => {
    await put('shown/a.txt', 'a');
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const listing = (r: { url(): string }) => /^\/api\/s3\/[^/]+$/.test(new URL(r.url()).pathname);
    const listings: string[] = [];
    let answered = 0;
    page.on('request', (r) => {
      if (listing(r)) listings.push(new URL(r.url()).searchParams.get('prefix') ?? '');
    });
    page.on('requestfinished', (r) => {
      if (listing(r)) answered++;
    });
    // Every listing asked for so far has been answered and shown: a later row comes from a re-list.
    const settled = async () => {
      await expect.poll(() => answered).toBe(listings.length);
      await sleep(200);
    };
    await page.goto(web.url);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
    await page.selectOption('#s3-bucket', 'laminar-local-lake');
    await expect.poll(() => page.locator('#s3-path').textContent()).toBe('s3://laminar-local-lake/');
    await page.locator('#s3-rows button', { hasText: 'shown/' }).waitFor();
    await settled();

    // No rule matches out/ (the functions watch in/*.csv), so no invocation or queue change follows.
    await put('out/x.txt', 'x');
    const out = page.locator('#s3-rows button', { hasText: 'out/' });
    await out.waitFor();
    await out.click();
    await page.locator('#s3-rows a', { hasText: 'x.txt' }).waitFor();
    await settled();
    await put('out/y.txt', 'y');
    await page.locator('#s3-rows a', { hasText: 'y.txt' }).waitFor();
    await settled();
    await local.s3?.client.send(new DeleteObjectCommand({ Bucket: local.bucket('lake'), Key: 'out/x.txt' }));
    await expect.poll(() => page.locator('#s3-rows tr td:first-child').allTextContents()).toEqual(['.. (up)', 'y.txt']);

    // A write outside the folder shown does not re-list it.
    await local.s3?.embedded?.flushEvents();
    await sleep(400);
    await settled();
    const before = listings.length;
    await put('elsewhere/z.txt', 'z');
    await local.s3?.embedded?.flushEvents();
    await sleep(600);
    expect(listings.slice(before)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the invocation selected last when the detail of the one before answers after it', async () => {
    const first = await local.invoke('auditor', { id: 'selected first' }, { invocationType: 'RequestResponse' });
    const second = await local.invoke('auditor', { id: 'selected second' }, { invocationType: 'RequestResponse' });
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    let answered = false;
    await page.route(
      (url) => url.pathname === `/api/invocations/${encodeURIComponent(`${first.requestId}#1`)}`,
      async (route) => {
        const response = await route.fetch();
        await sleep(1_500);
        await route.fulfill({ response });
        answered = true;
      },
    );
    await page.goto(web.url);
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
    await page.locator(`#inv-rows tr[data-id="${first.requestId}#1"]`).click();
    await page.locator(`#inv-rows tr[data-id="${second.requestId}#1"]`).click();
    await expect.poll(() => page.locator('#inv-detail h3').textContent()).toContain(second.requestId);
    await expect.poll(() => answered).toBe(true);
    await sleep(200);
    expect(await page.locator('#inv-detail h3').textContent()).toContain(second.requestId);
    await page.close();
  });

  it('answers a malformed path, an unknown function or object and a throttled invoke with their own statuses', async () => {
    const invoke = (name: string) => fetch(`${web.url}api/functions/${name}/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const answer = async (res: Response) => [res.status, ((await res.json()) as { error: string }).error];
    expect(await answer(await fetch(`${web.url}api/invocations/%E0%A4%A`))).toEqual([400, 'malformed percent-encoding in "%E0%A4%A"']);
    expect(await answer(await invoke('nope'))).toEqual([404, expect.stringContaining('Function not found: nope')]);
    expect(await answer(await fetch(`${web.url}api/s3/${local.bucket('lake')}/object?key=no/such.csv`))).toEqual([404, `no object no/such.csv in ${local.bucket('lake')}`]);
    const throttled = vi.spyOn(local, 'invoke').mockRejectedValueOnce(new ThrottledError('Rate Exceeded: auditor already runs 10 environments'));
    try {
      expect(await answer(await invoke('auditor'))).toEqual([429, 'Rate Exceeded: auditor already runs 10 environments']);
    } finally {
      throttled.mockRestore();
    }
  });

  it('says why an S3 bucket cannot be browsed without an S3, and that only DLQ messages are replayed', async () => {
    const noS3 = await startConsole({ ...local, s3: undefined }, { port: 0 });
    try {
      const res = await fetch(`${noS3.url}api/s3/${local.bucket('lake')}?prefix=`);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([404, `no S3: the runner serves none, so ${local.bucket('lake')} cannot be browsed`]);
    } finally {
      await noS3.stop();
    }
    const arrivals = local.queues.get('laminar-local-arrivals');
    const message = arrivals?.send({ source: 'aws.s3', detail: { object: { key: 'in/x.csv' } } });
    const res = await fetch(`${web.url}api/queues/laminar-local-arrivals/messages/${message?.messageId}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, 'laminar-local-arrivals is not a DLQ: only dead-letter messages are replayed']);
    if (message) arrivals?.delete(message.messageId);
  });

  it('falls back to a free port only when the default port is taken, saying so, and refuses a taken chosen port', async () => {
    const taken = Number(new URL(web.url).port);
    await expect(startConsole(local, { port: taken })).rejects.toThrow(UsageError);
    await expect(startConsole(local, { port: taken })).rejects.toThrow(`the console's port ${taken} is taken (another laminar dev?)`);
    const other = await startConsole(local, { port: taken, defaultPort: true });
    try {
      expect(other.url).not.toBe(web.url);
      expect(other.description).toBe(`${taken} is taken (another laminar dev?): serving on ${other.url}`);
    } finally {
      await other.stop();
    }
  });

  it('closes the event stream of a client that stops reading once it holds more than its bound', async () => {
    const bounded = await startConsole(local, { port: 0, maxStreamBufferBytes: 64 * 1024 });
    const port = Number(new URL(bounded.url).port);
    const socket = connect(port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
      // Never read: the answer piles up in the kernel's buffers, then in the server's.
      socket.pause();
      socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      await sleep(200);
      // Invocation events of 40 KB each (their error): 1,000 of them are more than loopback's
      // socket buffers hold, so the rest stays in the server unless it closes the stream.
      const failure = { errorType: 'Error', errorMessage: 'e'.repeat(40_000), trace: [] };
      for (let i = 0; i < 1_000; i++) {
        bounded.state.record({
          requestId: `slow-reader-${i}`,
          functionName: 'auditor',
          invocationType: 'Event',
          error: failure,
          report: { durationMs: 1, billedMs: 1, memorySizeMb: 128, maxMemoryUsedMb: 60, cold: false },
          logs: [],
          startedAt: '2026-11-27T00:00:00.000Z',
          finishedAt: '2026-11-27T00:00:00.001Z',
        });
        if (i % 50 === 0) await sleep(1);
      }
      // Reading again, the client gets what was sent, then the end of a stream the server closed.
      socket.resume();
      await expect.poll(() => closed, { timeout: 10_000 }).toBe(true);
    } finally {
      socket.destroy();
      await bounded.stop();
    }
  });
});
