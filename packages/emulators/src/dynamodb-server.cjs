// Runs dynalite in its own process so the emulator's event loop and LevelDB never share the
// test's or the runner's process (a busy emulator would otherwise skew the timings it serves).
'use strict';
const http = require('node:http');
const dynalite = require('dynalite');

const options = JSON.parse(process.argv[2] ?? '{}');
// createTableMs 0: a table turns ACTIVE on dynalite's next timer tick, not as CreateTable returns:
// callers still wait for it (ensureTable does).
const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

server.on('error', (err) => {
  if (process.connected) process.send({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
});
// dynalite opens its LevelDB folder on the first request, and a folder another process holds
// (a second `laminar dev` or `invoke` on .laminar/dynamodb) throws there, uncaught: said to the
// parent, which then names the lock, instead of a "socket hang up" at the caller's first request.
let ready = false;
/** What a failure before the store answered says: LevelDB's errors there do not name the folder or its lock. */
const beforeReady = (err) =>
  `${ready || !options.directory ? '' : `its store in ${options.directory} did not open (LevelDB lets one process hold a folder, by its lock): `}${err?.stack ?? err}${err?.cause ? `\ncaused by: ${err.cause?.stack ?? err.cause}` : ''}`;
process.on('uncaughtException', (err) => {
  const message = beforeReady(err);
  if (process.connected) process.send({ type: 'error', message }, () => process.exit(1));
  else process.exit(1);
});

/** One ListTables of its own: ready only once the store answers, not once the port listens. */
function answersListTables(port, done) {
  const request = http.request(
    {
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        'x-amz-date': '20200101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
    },
    (response) => {
      let body = '';
      response.on('data', (d) => {
        body += d;
      });
      response.on('end', () => done(response.statusCode === 200 ? undefined : new Error(`ListTables answered ${response.statusCode}: ${body}`)));
    },
  );
  request.on('error', done);
  request.end('{}');
}

server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
  const { port } = server.address();
  answersListTables(port, (err) => {
    if (err) {
      process.send({ type: 'error', message: beforeReady(err) }, () => process.exit(1));
      return;
    }
    ready = true;
    process.send({ type: 'ready', port });
  });
});

let closing = false;
function stop() {
  if (closing) return;
  closing = true;
  // Closing the store flushes LevelDB when a directory is used: give it time even on a loaded
  // machine (exiting early loses the last writes), but never hang forever.
  setTimeout(() => process.exit(0), 10_000).unref();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
// The parent owns this process: when it goes away (or asks), stop.
process.on('disconnect', stop);
process.on('SIGTERM', stop);

// Ctrl-C in a terminal reaches the whole process group: the parent decides when this stops.
process.on('SIGINT', () => {});
