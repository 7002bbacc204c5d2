import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import yazl from 'yazl';
import { tempRoot, zipBuffer } from './fixtures.ts';

/** A zip whose entries may be symlinks ({ link: target }), as layers ship shared libraries. */
async function zipWithLinks(files: Record<string, string | { link: string }>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') zip.addBuffer(Buffer.from(content), name, { mode: 0o100644 });
    else zip.addBuffer(Buffer.from(content.link), name, { mode: 0o120777 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function write(path: string, content: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** Requires modules the way bundles that keep a layer's package external do: createRequire, which honours NODE_PATH. */
const LAYERED = `
import { createRequire } from 'node:module';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const require = createRequire(import.meta.url);
const fake = require('fake-mod');
const other = require('other-mod');
export const handler = async () => {
  const lib = join(process.env.LD_LIBRARY_PATH.split(':').at(-1), 'libfake.so.1');
  return {
    fake: fake.version,
    other: other.name,
    resolved: require.resolve('fake-mod'),
    lib: readFileSync(lib, 'utf8'),
    libIsLink: lstatSync(lib).isSymbolicLink(),
    NODE_PATH: process.env.NODE_PATH,
    LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH,
    taskRoot: process.env.LAMBDA_TASK_ROOT,
  };
};
`;

const FETCHER = `
const get = async (url) => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
};
export const handler = async (event) => {
  const env = { FEED_URL: process.env.FEED_URL, API_URL: process.env.API_URL, KAFKA_SECURITY_PROTOCOL: process.env.KAFKA_SECURITY_PROTOCOL };
  if (event.noFetch) return { env };
  return {
    env,
    feed: await get(process.env.FEED_URL + '?since=yesterday'),
    api: await get(process.env.API_URL + '/markets?limit=10&offset=0'),
    missing: (await get(process.env.API_URL + '/nope')).status,
  };
};
`;

/** Claims fixed ids in its DynamoDB table through the raw JSON API (dynalite checks no signature). */
const DEDUPER = `
const call = async (target, body) => {
  const res = await fetch(process.env.AWS_ENDPOINT_URL_DYNAMODB, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.' + target,
      'x-amz-date': new Date().toISOString().replace(/[-:]|\\.\\d{3}/g, ''),
      authorization: 'AWS4-HMAC-SHA256 Credential=' + process.env.AWS_ACCESS_KEY_ID + '/20260101/' + process.env.AWS_REGION + '/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};
export const handler = async (event) => {
  let fresh = 0;
  let duplicate = 0;
  for (const id of ['a', 'b', 'c']) {
    const r = await call('PutItem', { TableName: process.env.SEEN_TABLE, Item: { pk: { S: id } }, ConditionExpression: 'attribute_not_exists(pk)' });
    if (r.status === 200) fresh++;
    else if (String(r.body.__type).endsWith('ConditionalCheckFailedException')) duplicate++;
    else throw new Error(JSON.stringify(r.body));
  }
  return {
    feeds: [{ source: 'fixed-ids', new: fresh, duplicate }],
    totals: { new: fresh, duplicate, produced: 0 },
    event,
    env: {
      SEEN_TABLE: process.env.SEEN_TABLE,
      TOPIC: process.env.TOPIC,
      KAFKA_BOOTSTRAP_SERVERS: process.env.KAFKA_BOOTSTRAP_SERVERS,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB,
    },
  };
};
`;

const arch = process.arch === 'arm64' ? 'arm64' : 'x86_64';

/**
 * A repository root with three built functions and two built layers:
 * - layered: layers base-layer then patch-layer (patch replaces fake-mod, adds other-mod)
 * - fetcher: fixtures/http served by the runner, URLs from local env "{fixtures}"
 * - deduper: a dedup table, a topic, the Kafka setting and a rate schedule
 */
export async function servicesRoot(): Promise<{ dir: string; remove(): void }> {
  const root = tempRoot();
  const d = root.dir;
  write(join(d, 'pnpm-workspace.yaml'), 'packages: []\n');
  const layers: Record<string, Record<string, string | { link: string }>> = {
    'base-layer': {
      'nodejs/node_modules/fake-mod/package.json': '{"name":"fake-mod","main":"index.js"}',
      'nodejs/node_modules/fake-mod/index.js': "exports.version = 'base';",
      'lib/libfake.so.1.0': 'not really a library',
      'lib/libfake.so.1': { link: 'libfake.so.1.0' },
    },
    'patch-layer': {
      'nodejs/node_modules/fake-mod/index.js': "exports.version = 'patched';",
      'nodejs/node20/node_modules/other-mod/index.js': "exports.name = 'other';",
    },
  };
  for (const [name, files] of Object.entries(layers)) {
    write(
      join(d, 'layers', name, 'layer.ts'),
      `import { defineLayer } from '@laminar/spec';
export default defineLayer({ name: '${name}', architectures: ['${arch}'], runtimes: ['nodejs20.x'], modules: ['fake-mod'] });
`,
    );
    write(join(d, 'layers', name, 'dist', `${name}.zip`), await zipWithLinks(files));
  }

  const fn = async (name: string, spec: string, source: string) => {
    write(join(d, 'functions', name, 'spec.ts'), `import { defineFunction } from '@laminar/spec';\nexport default defineFunction(${spec});\n`);
    write(join(d, 'functions', name, 'dist', `${name}.zip`), await zipBuffer({ 'index.mjs': source }));
  };
  await fn(
    'layered',
    `{ name: 'layered', memoryMb: 128, timeoutS: 10, runtime: 'nodejs20.x', architecture: '${arch}', layers: ['base-layer', 'patch-layer'], triggers: [{ kind: 'invoke' }] }`,
    LAYERED,
  );
  await fn(
    'fetcher',
    `{
  name: 'fetcher', memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }],
  env: { FEED_URL: 'https://feeds.example.invalid/world.xml', API_URL: 'https://api.example.invalid', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' },
  local: { env: { FEED_URL: '{fixtures}/feeds/world.xml', API_URL: '{fixtures}/gamma', KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' } },
}`,
    FETCHER,
  );
  write(join(d, 'functions', 'fetcher', 'fixtures', 'http', 'feeds', 'world.xml'), '<rss version="2.0"><channel><title>w</title></channel></rss>');
  write(join(d, 'functions', 'fetcher', 'fixtures', 'http', 'gamma', 'markets.json'), '[{"id":"m1"}]');
  await fn(
    'deduper',
    `{
  name: 'deduper', memoryMb: 128, timeoutS: 10,
  env: { SEEN_TABLE: { ref: { table: 'seen' } }, TOPIC: { ref: { topic: 'items' } }, KAFKA_BOOTSTRAP_SERVERS: { ref: { setting: 'kafkaBootstrapServers' } } },
  tables: [{ name: 'seen', kind: 'dedup' }],
  triggers: [{ kind: 'schedule', expression: 'rate(15 minutes)' }],
}`,
    DEDUPER,
  );
  return root;
}
