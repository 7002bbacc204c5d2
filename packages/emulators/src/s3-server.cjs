// Runs s3rver in its own process: its continuation-token cipher (DES) needs Node's legacy OpenSSL
// provider, which must not leak into the runner's or a test's own process.
'use strict';
const S3rver = require('s3rver');

const options = JSON.parse(process.argv[2] ?? '{}');
const server = new S3rver({
  address: options.address ?? '127.0.0.1',
  port: options.port ?? 0,
  directory: options.directory,
  silent: true,
  configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
});

server.on('event', (event) => {
  if (process.connected) process.send({ type: 'event', event });
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
