import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';

/** One canned response. */
export interface FixtureResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Waits before answering (slow servers, timeouts). */
  delayMs?: number;
  /** Conditional GET: answers 304 when If-None-Match equals it (and sends it as ETag otherwise). */
  etag?: string;
  /** Conditional GET: answers 304 when If-Modified-Since is not older (and sends it otherwise). */
  lastModified?: string;
  /** Sends the body in this many bytes per chunk, pausing `delayMs` between chunks (slow bodies). */
  chunkBytes?: number;
}

/**
 * A route answers with one response, a sequence (one per request, the last repeating — e.g. a
 * 429 then a 200), or a function of the request.
 */
export type FixtureRoute =
  | FixtureResponse
  | FixtureResponse[]
  | ((request: IncomingMessage, url: URL) => FixtureResponse | Promise<FixtureResponse>);

export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface HttpFixtures {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  requests: RecordedRequest[];
  /** Adds or replaces a route. Keys are paths; a key with "?" matches that exact path + query first. */
  route(path: string, route: FixtureRoute): void;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A real HTTP server on loopback serving canned responses: feeds and APIs for integration tests
 * and the local runner, with the faults real servers have (errors, slowness, 304s, rate limits).
 */
export async function startHttpFixtures(routes: Record<string, FixtureRoute> = {}): Promise<HttpFixtures> {
  const table = new Map(Object.entries(routes));
  const served = new Map<string, number>();
  const requests: RecordedRequest[] = [];

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fixtures');
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    const key = table.has(url.pathname + url.search) ? url.pathname + url.search : url.pathname;
    const route = table.get(key);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no fixture for ${url.pathname}`);
      return;
    }
    let response: FixtureResponse;
    if (typeof route === 'function') response = await route(req, url);
    else if (Array.isArray(route)) {
      const n = served.get(key) ?? 0;
      served.set(key, n + 1);
      response = route[Math.min(n, route.length - 1)] ?? {};
    } else response = route;

    if (response.delayMs && !response.chunkBytes) await sleep(response.delayMs);
    const headers: Record<string, string> = { ...response.headers };
    if (response.etag) headers.etag = response.etag;
    if (response.lastModified) headers['last-modified'] = response.lastModified;
    // RFC 9110 §13.2.2: If-None-Match, when sent, decides alone; If-Modified-Since only without it.
    // (Either one matching would answer 304 for a document whose ETag changed within a second.)
    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    const notModified =
      ifNoneMatch !== undefined
        ? response.etag !== undefined && ifNoneMatch === response.etag
        : response.lastModified !== undefined && ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= Date.parse(response.lastModified);
    if (notModified) {
      res.writeHead(304, headers).end();
      return;
    }
    const body = response.body === undefined ? Buffer.alloc(0) : Buffer.from(response.body);
    res.writeHead(response.status ?? 200, { 'content-length': String(body.length), ...headers });
    if (!response.chunkBytes) {
      res.end(body);
      return;
    }
    for (let i = 0; i < body.length && !res.destroyed; i += response.chunkBytes) {
      res.write(body.subarray(i, i + response.chunkBytes));
      if (response.delayMs) await sleep(response.delayMs);
    }
    res.end();
  }

  const server = createServer((req, res) => {
    respond(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    route: (path, route) => {
      table.set(path, route);
      served.delete(path);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SilentEndpoint {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Data events received on its connections (at least one per request sent). */
  requests: { count: number };
  /** Connections it took. */
  connections: { count: number };
  stop(): Promise<void>;
}

/**
 * A TCP endpoint that takes connections and what is sent on them and never answers: the peer that
 * hangs, for testing that clients give up in time instead of waiting on it.
 */
export async function startSilentEndpoint(): Promise<SilentEndpoint> {
  const sockets = new Set<Socket>();
  const requests = { count: 0 };
  const connections = { count: 0 };
  const server = createNetServer((socket) => {
    connections.count++;
    sockets.add(socket);
    socket.on('data', () => requests.count++);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
