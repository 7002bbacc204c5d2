// Runs s3rver in its own process: its continuation-token cipher (DES) needs Node's legacy OpenSSL
// provider, which must not leak into the runner's or a test's own process.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const { randomBytes } = require('node:crypto');
const S3rver = require('s3rver');

const options = JSON.parse(process.argv[2] ?? '{}');
const server = new S3rver({
  address: options.address ?? '127.0.0.1',
  port: options.port ?? 0,
  directory: options.directory,
  silent: true,
  configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
});

// s3rver's notification records say neither which API call wrote the object (a multipart upload
// and a form POST are both "ObjectCreated:Post") nor, for a copy, the new ETag. Each request runs
// in its own async context; its events are sent once the handler is done, with what the request was.
const requests = new AsyncLocalStorage();

function operationOf(ctx) {
  const q = ctx.query ?? {};
  if (ctx.method === 'DELETE') return 'DeleteObject';
  if (ctx.method === 'PUT') return ctx.get('x-amz-copy-source') ? 'CopyObject' : 'PutObject';
  if (ctx.method === 'POST') return 'uploadId' in q ? 'CompleteMultipartUpload' : 'PostObject';
  return ctx.method;
}

/** The ETag of a CopyObject answer, whether s3rver has serialized it to XML yet or not. */
function copiedEtag(body) {
  const raw = typeof body === 'string' ? /<ETag>([^<]*)<\/ETag>/.exec(body)?.[1] : body?.CopyObjectResult?.ETag;
  return raw?.replace(/&quot;|"/g, '') || undefined;
}

server.middleware.unshift(async (ctx, next) => {
  const store = { events: [] };
  try {
    await requests.run(store, next);
  } finally {
    if (store.events.length && process.connected) {
      const copied = copiedEtag(ctx.body);
      const request = {
        operation: operationOf(ctx),
        requestId: randomBytes(8).toString('hex').toUpperCase(),
        sourceIp: String(ctx.ip ?? '127.0.0.1').replace(/^::ffff:/, ''),
      };
      for (const event of store.events) {
        for (const r of event.Records ?? []) {
          if (copied && r.s3?.object && r.s3.object.eTag === undefined) r.s3.object.eTag = copied;
        }
        process.send({ type: 'event', event, request });
      }
    }
  }
});

server.on('event', (event) => {
  const store = requests.getStore();
  if (store) store.events.push(event);
  else if (process.connected) process.send({ type: 'event', event });
});

// IPC keeps order: once this answer arrives, every event of a request answered before it has too.
process.on('message', (m) => {
  if (m?.type === 'flush' && process.connected) process.send({ type: 'flushed', id: m.id });
});

server.run().then(
  (addr) => process.send({ type: 'ready', port: addr.port, address: addr.address }),
  (err) => {
    process.send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);

// The parent owns this process: when it goes away (or asks), stop.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));

// Ctrl-C in a terminal reaches the whole process group: the parent decides when this stops.
process.on('SIGINT', () => {});
