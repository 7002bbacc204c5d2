// Runs dynalite in its own process so the emulator's event loop and LevelDB never share the
// test's or the runner's process (a busy emulator would otherwise skew the timings it serves).
'use strict';
const dynalite = require('dynalite');

const options = JSON.parse(process.argv[2] ?? '{}');
// createTableMs 0: tables are ACTIVE at once, so callers need no wait-for-table loop.
const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

server.on('error', (err) => {
  if (process.connected) process.send({ type: 'error', message: String(err?.stack ?? err) });
  process.exit(1);
});
server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.address().port });
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
