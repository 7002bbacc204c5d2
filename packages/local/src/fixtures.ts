import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, sep } from 'node:path';
import type { FunctionSpec } from '@laminar/spec';

/** Stands for the base URL under which the runner serves a function's `fixtures/http/` folder. */
export const FIXTURES_PLACEHOLDER = '{fixtures}';

export function fixturesDir(functionDir: string): string {
  return join(functionDir, 'fixtures', 'http');
}

/** True when the spec's local overrides point at the fixture server. */
export function usesFixtures(spec: FunctionSpec): boolean {
  return Object.values(spec.local.env).some((v) => v.includes(FIXTURES_PLACEHOLDER));
}

/**
 * The spec's `local.env` overrides with "{fixtures}" replaced by `fixturesBase`. Live (no base),
 * overrides that name the fixture server are dropped, so the function keeps its spec URLs — the
 * real internet — while the others (PLAINTEXT to the local broker…) still apply.
 */
export function localEnvOverrides(spec: FunctionSpec, fixturesBase: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.local.env)) {
    if (!v.includes(FIXTURES_PLACEHOLDER)) out[k] = v;
    else if (fixturesBase !== undefined) out[k] = v.replaceAll(FIXTURES_PLACEHOLDER, fixturesBase.replace(/\/+$/, ''));
  }
  return out;
}

export function contentTypeFor(path: string): string {
  switch (extname(path).toLowerCase()) {
    case '.xml':
      return 'application/xml';
    case '.json':
      return 'application/json';
    default:
      return 'application/octet-stream';
  }
}

export interface FixtureSite {
  functionName: string;
  /** The function's `fixtures/http/` folder (it may not exist). */
  dir: string;
}

export interface FixtureServer {
  url: string;
  /** What "{fixtures}" becomes for one function. */
  baseFor(functionName: string): string;
  /** Files served per function (counted at start). */
  files: Record<string, number>;
  /** Every request received, for summaries and tests. */
  requests: { method: string; url: string; status: number }[];
  /** Set when the preferred port was taken and another one is used. */
  warning: string | undefined;
  stop(): Promise<void>;
}

/**
 * Fixture URLs should not change between runs: producers may derive item ids from them (a feed's
 * host:port scopes its guids), and a new port would make yesterday's items look new.
 */
export const DEFAULT_FIXTURES_PORT = 4599;

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return walk(path);
    return d.isFile() || (d.isSymbolicLink() && statSync(path).isFile()) ? [path] : [];
  });
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** The file a request path names: `/<function>/<path>` under that function's folder, never outside it. */
export function fixtureFile(sites: ReadonlyMap<string, string>, pathname: string): string | undefined {
  let segments: string[];
  try {
    segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const [fn, ...rest] = segments;
  const dir = fn === undefined ? undefined : sites.get(fn);
  if (!dir || rest.length === 0 || rest.some((s) => s === '..' || s === '.' || s.includes(sep) || s.includes('/'))) return undefined;
  const path = join(dir, ...rest);
  if (relative(dir, path).startsWith('..')) return undefined;
  // APIs have paths without extensions (/gamma/markets): markets.json or markets.xml answers them.
  return [path, `${path}.json`, `${path}.xml`].find(isFile);
}

/**
 * One HTTP server for every function's fixture folder: `fixtures/http/feeds/a.xml` of function f
 * is `/f/feeds/a.xml`, for any method; query strings are ignored. Files are read per request, so
 * edits and new files show at once. Listens on `port` when free, else on any port (with a warning).
 */
export async function startFixtureServer(sites: FixtureSite[], port = DEFAULT_FIXTURES_PORT): Promise<FixtureServer> {
  const dirs = new Map(sites.map((s) => [s.functionName, s.dir]));
  const files: Record<string, number> = {};
  for (const site of sites) files[site.functionName] = walk(site.dir).length;
  const requests: FixtureServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixtures');
    const file = fixtureFile(dirs, url.pathname);
    const status = file ? 200 : 404;
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', status });
    // Drain any request body (POST /midpoints…): the answer is the file either way.
    req.resume();
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no fixture for ${url.pathname}\n`);
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      return;
    }
    res.writeHead(200, { 'content-type': contentTypeFor(file), 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  let warning: string | undefined;
  try {
    await listen(port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    await listen(0);
    warning = `port ${port} is in use: fixtures are served on another port, so their URLs differ from other runs`;
  }
  const actual = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${actual}`;
  return {
    url,
    baseFor: (functionName) => `${url}/${encodeURIComponent(functionName)}`,
    files,
    requests,
    warning,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
