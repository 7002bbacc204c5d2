import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type Durations, estimate, loadAssumptions, pricesFor, s3PatternName } from '@laminar/cost';
import type { DestinationRecord } from '../async.ts';
import { UsageError } from '../args.ts';
import { MessageClaimedError } from '../queues.ts';
import { MAX_REQUEST_BYTES, ThrottledError, UnknownFunctionError } from '../invoker.ts';
import type { Local } from '../runner.ts';
import { changesFromNotification, type EmulatorRequest } from '../s3-events.ts';
import { consolePage } from './page.ts';
import { ConsoleState } from './state.ts';

export interface ConsoleOptions {
  /** Loopback port; 0 picks a free one. */
  port?: number;
  /**
   * The port is the default, not one the developer chose: when it is taken (another dev session),
   * any free one will do. A chosen port that is taken is refused instead.
   */
  defaultPort?: boolean;
  /** The architecture graph as SVG, when one can be rendered from the specs. */
  graphSvg?: () => Promise<string | undefined>;
  /** How often queue depths are compared (ms). */
  queuePollMs?: number;
  /** Bytes an event stream may hold unsent before it is closed (the page reconnects and resyncs). */
  maxStreamBufferBytes?: number;
}

export interface ConsoleServer {
  url: string;
  /** What to print about where it serves: its URL, and why it is not the default port when that was taken. */
  description: string;
  state: ConsoleState;
  stop(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_STREAM_BUFFER_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A console port the developer chose that another process holds. */
export function portTakenError(port: number): UsageError {
  return new UsageError(`the console's port ${port} is taken (another laminar dev?): choose another with --console-port or LAMINAR_CONSOLE_PORT (0 = any free port)`);
}

/** A path segment, decoded: a malformed escape is the request's fault, not a server error. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in ${JSON.stringify(segment)}`);
  }
}

/** The status an error thrown while serving answers with. */
function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof UnknownFunctionError) return 404;
  if (err instanceof ThrottledError) return 429;
  return 500;
}

/**
 * The local console: one page on loopback, its JSON API and a server-sent event stream of
 * invocations, statistics, queue changes and object changes in the runner's buckets. Requests must
 * come from the console itself: the Host must be loopback (no DNS rebinding) and changes need a
 * same-origin JSON POST (no CSRF from other pages the browser has open).
 */
export async function startConsole(local: Local, options: ConsoleOptions = {}): Promise<ConsoleServer> {
  const state = new ConsoleState(
    local.specs.map((s) => s.spec.name),
    local.queues,
    local.xray ? { spans: (traceId) => local.xray?.spans(traceId) ?? [] } : {},
  );
  const unsubscribe = local.invoker.onInvocation((r) => state.record(r));
  const streams = new Set<ServerResponse>();
  const maxBuffered = options.maxStreamBufferBytes ?? MAX_STREAM_BUFFER_BYTES;
  // A client that stops reading would have the server buffer every later event for it: past the
  // bound its stream is closed, and the page's EventSource reconnects and resyncs from a snapshot.
  const send = (res: ServerResponse, frame: string) => {
    res.write(frame);
    if (res.writableLength > maxBuffered) {
      streams.delete(res);
      res.destroy();
    }
  };
  state.subscribe((e) => {
    if (streams.size === 0) return;
    const frame = `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
    for (const res of streams) send(res, frame);
  });
  // Queues change from several places (async destinations, S3 rules, replays): compare depths.
  let signature = '';
  const poll = setInterval(() => {
    const next = local.queues
      .all()
      .map((q) => `${q.name}:${q.depth}`)
      .join(',');
    if (next !== signature) {
      signature = next;
      state.queuesChanged();
    }
  }, options.queuePollMs ?? 500);
  poll.unref();
  // Objects written or removed in the runner's buckets, as the embedded S3 reports them (the same
  // notifications its EventBridge rules get): the page re-lists the folder it shows when the key is
  // under it. Every write counts, not just those a rule matches (bronze/, inventory/, silver/…). An
  // external S3 (LAMINAR_S3_ENDPOINT) reports nothing here: its listing is read again on a click or
  // a queue change only.
  const watched = new Set(Object.values(local.buckets));
  const s3Events = local.s3?.embedded?.events;
  const onS3Event = (event: unknown, request?: EmulatorRequest) => {
    for (const c of changesFromNotification(event, request, () => '')) {
      if (watched.has(c.bucket)) state.objectChanged({ bucket: c.bucket, key: c.key, change: c.detailType === 'Object Created' ? 'created' : 'removed' });
    }
  };
  s3Events?.on('event', onS3Event);
  // Keeps proxies and the browser from dropping an idle stream.
  const heartbeat = setInterval(() => {
    for (const res of streams) send(res, ': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  let origin = '';
  let origins: string[] = [];
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(statusOf(err), { 'content-type': JSON_TYPE });
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    // The server listens on 127.0.0.1: reached as that or as localhost (a DNS rebinding's name is neither).
    if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host)) throw new HttpError(403, `host ${host} is not the loopback console`);
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    if (req.method === 'POST') {
      if (req.headers.origin !== undefined && !origins.includes(req.headers.origin)) throw new HttpError(403, 'cross-origin request refused');
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'POST bodies are application/json');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, `${req.method} is not allowed`);
    }

    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'self'; style-src 'unsafe-inline' 'self'; script-src 'unsafe-inline' 'self'; img-src 'self' data:" });
      res.end(consolePage());
      return;
    }
    if (req.method === 'GET' && path === '/api/state') return json(res, snapshot());
    if (req.method === 'GET' && path === '/api/cost') return json(res, cost());
    if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/api/graph.svg') {
      const svg = await options.graphSvg?.();
      if (!svg) throw new HttpError(404, 'no graph renderer');
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
      res.end(svg);
      return;
    }
    let m = /^\/api\/invocations\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const inv = state.invocation(decoded(m[1] as string));
      if (!inv) throw new HttpError(404, 'no such invocation (the console keeps the latest 500)');
      return json(res, inv);
    }
    m = /^\/api\/functions\/([^/]+)\/invoke$/.exec(path);
    if (req.method === 'POST' && m) {
      const name = decoded(m[1] as string);
      const event = await body(req);
      const r = await local.invoke(name, event, { invocationType: 'RequestResponse' });
      return json(res, { requestId: r.requestId, result: r.result ?? null, error: r.error ?? null });
    }
    m = /^\/api\/queues\/([^/]+)\/messages\/([^/]+)\/replay$/.exec(path);
    if (req.method === 'POST' && m) return json(res, await replay(decoded(m[1] as string), decoded(m[2] as string)));
    m = /^\/api\/s3\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) return json(res, await list(decoded(m[1] as string), url.searchParams));
    m = /^\/api\/s3\/([^/]+)\/object$/.exec(path);
    if (req.method === 'GET' && m) return download(res, decoded(m[1] as string), url.searchParams.get('key') ?? '');
    throw new HttpError(404, `nothing at ${path}`);
  }

  function snapshot() {
    return {
      seq: state.seq,
      services: local.services,
      functions: local.specs.map(({ spec }) => ({
        name: spec.name,
        description: spec.description,
        memoryMb: spec.memoryMb,
        timeoutS: spec.timeoutS,
        architecture: spec.architecture,
        triggers: spec.triggers,
      })),
      buckets: local.buckets,
      invocations: state.invocations(),
      stats: state.stats(),
      queues: state.queueViews(),
    };
  }

  /** `pnpm cost`'s estimate, with this session's measured durations where there are some. */
  function cost() {
    const all = loadAssumptions();
    // The runner may serve some of the functions (or another root's): keep only the assumptions
    // about what it serves — the estimate refuses names it does not know, as typos.
    const served = new Set(local.specs.map((l) => l.spec.name));
    const patterns = new Set(local.s3Routes.map((r) => s3PatternName(r.trigger)));
    const queues = new Set(local.queueSpecs.map((q) => q.name));
    const assumptions = {
      ...all,
      functions: Object.fromEntries(Object.entries(all.functions).filter(([name]) => served.has(name))),
      s3Events: Object.fromEntries(Object.entries(all.s3Events).filter(([key]) => patterns.has(key))),
      queues: Object.fromEntries(Object.entries(all.queues).filter(([name]) => queues.has(name))),
    };
    const durations: Durations = {};
    for (const s of state.stats()) {
      if (s.invocations === 0 || s.p50Ms === undefined) continue;
      durations[s.functionName] = { p50Ms: s.p50Ms, ...(s.p95Ms !== undefined ? { p95Ms: s.p95Ms } : {}), coldStartShare: s.coldShare, count: s.invocations, source: 'this dev session' };
    }
    return estimate({
      functions: local.specs.map((l) => l.spec),
      queues: local.queueSpecs,
      assumptions,
      prices: pricesFor(assumptions.region),
      durations,
      durationStatistic: 'p50',
    });
  }

  async function replay(queueName: string, messageId: string) {
    const queue = local.queues.get(queueName);
    if (!queue) throw new HttpError(404, `no queue ${queueName}`);
    // The kind first: a message of another queue is not the console's to replay, whatever it holds.
    if (queue.kind !== 'dlq') throw new HttpError(400, `${queueName} is not a DLQ: only dead-letter messages are replayed`);
    const message = queue.messages().find((x) => x.messageId === messageId);
    if (!message) throw new HttpError(404, `no message ${messageId} in ${queueName} (already replayed?)`);
    const record = message.body as Partial<DestinationRecord>;
    if (typeof record !== 'object' || record === null || !('requestPayload' in record)) {
      throw new HttpError(400, 'this message holds no event to replay (a Kafka batch is re-read from its topic by offset)');
    }
    return queue
      .withClaim(messageId, async () => {
        // Under the claim: a replay that finished in the meantime has removed it.
        if (!queue.messages().some((x) => x.messageId === messageId)) throw new HttpError(404, `no message ${messageId} in ${queueName} (already replayed)`);
        const r = await local.invoke(queue.owner, record.requestPayload, { invocationType: 'RequestResponse', trigger: { kind: 'replay', queue: queueName, messageId } });
        const removed = !r.error && queue.delete(messageId);
        state.queuesChanged();
        return { replayed: !r.error, removed, requestId: r.requestId, error: r.error ?? null, result: r.result ?? null };
      })
      .catch((error: unknown) => {
        throw error instanceof MessageClaimedError ? new HttpError(409, error.message) : error;
      });
  }

  /** The bucket's client, when it is one of the runner's and the runner has an S3. */
  function s3For(bucket: string) {
    if (!Object.values(local.buckets).includes(bucket)) throw new HttpError(404, `no local bucket ${bucket}`);
    if (!local.s3) throw new HttpError(404, `no S3: the runner serves none, so ${bucket} cannot be browsed`);
    return local.s3.client;
  }

  /**
   * One folder level, grouped here rather than with Delimiter: s3rver's delimiter listing drops
   * common prefixes (asked for bronze/, inventory/, silver/…, it answers some of them). Every key
   * under the prefix is read, page by page: s3rver returns keys in its folders' walk order, not in
   * key order, so no page can be skipped (a StartAfter past a big folder lost the folders that sort
   * before it but come after it). 50 pages and 500 objects a level at most; `truncated` beyond.
   */
  async function list(bucket: string, params: URLSearchParams) {
    const prefix = params.get('prefix') ?? '';
    const client = s3For(bucket);
    const folders = new Set<string>();
    const objects: { key: string; size: number; lastModified: string | null }[] = [];
    let token: string | undefined;
    let more = false;
    for (let page = 0; page < 50; page++) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) {
        const key = o.Key as string;
        const slash = key.indexOf('/', prefix.length);
        if (slash >= 0) folders.add(key.slice(0, slash + 1));
        else if (objects.length < 500) objects.push({ key, size: o.Size ?? 0, lastModified: o.LastModified?.toISOString() ?? null });
        else more = true;
      }
      token = out.NextContinuationToken;
      if (!token) break;
    }
    return { bucket, prefix, folders: [...folders].sort(), objects, truncated: more || token !== undefined };
  }

  async function download(res: ServerResponse, bucket: string, key: string): Promise<void> {
    if (!key) throw new HttpError(400, 'key= is required');
    const client = s3For(bucket);
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch((err: unknown) => {
      const name = (err as Error).name;
      throw name === 'NoSuchKey' || name === 'NotFound' ? new HttpError(404, `no object ${key} in ${bucket}`) : err;
    });
    const name = key.split('/').pop() || 'object';
    res.writeHead(200, {
      'content-type': out.ContentType ?? 'application/octet-stream',
      ...(out.ContentLength !== undefined ? { 'content-length': out.ContentLength } : {}),
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
    });
    // pipeline, not pipe: a browser that cancels the download destroys the S3 response too (else
    // its keep-alive socket stays taken, and the runner's S3 client runs out of them), and an S3
    // response that breaks off ends the download instead of leaving it hanging.
    pipeline(out.Body as Readable, res, (err) => {
      if (err) res.destroy(err);
    });
  }

  const wanted = options.port ?? 0;
  let fellBack = false;
  server.listen(wanted, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (err) {
    const refuse = (error: unknown) => {
      unsubscribe();
      s3Events?.off('event', onS3Event);
      clearInterval(poll);
      clearInterval(heartbeat);
      return error;
    };
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || wanted === 0) throw refuse(err);
    // A port the developer chose is what they will open: serving elsewhere would leave them
    // looking at whatever holds it.
    if (!options.defaultPort) throw refuse(portTakenError(wanted));
    // The usual port is taken (another dev session): any free one will do, and the line says so.
    server.listen(0, '127.0.0.1');
    await once(server, 'listening').catch((error: unknown) => {
      throw refuse(error);
    });
    fellBack = true;
  }
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  // The page's own POSTs carry the origin it was opened at.
  origins = [origin, `http://localhost:${port}`];

  return {
    url: `${origin}/`,
    description: fellBack ? `${wanted} is taken (another laminar dev?): serving on ${origin}/` : `${origin}/`,
    state,
    async stop() {
      unsubscribe();
      s3Events?.off('event', onS3Event);
      clearInterval(poll);
      clearInterval(heartbeat);
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

async function body(req: IncomingMessage): Promise<unknown> {
  // Bytes first, decoded once: a character split between two reads stays whole, and the limit is
  // Lambda's, in bytes.
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_REQUEST_BYTES) throw new HttpError(413, `the event is over Lambda’s ${MAX_REQUEST_BYTES}-byte limit`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the event is not JSON: ${(err as Error).message}`);
  }
}

