// Hosts librdkafka's mock cluster: a Kafka-protocol server that lives inside any librdkafka client
// configured with `test.mock.num.brokers`, for as long as that client stays connected. Running it
// in its own process keeps its broker threads (and their CPU) off the caller's event loop and lets
// the parent stop it by disconnecting.
'use strict';
const Kafka = require('@confluentinc/kafka-javascript');

const options = JSON.parse(process.argv[2] ?? '{}');
const send = (message) => {
  if (process.connected) process.send(message);
};

const host = new Kafka.Producer({
  // Ignored by the mock cluster, but librdkafka requires one.
  'bootstrap.servers': 'mock:9092',
  'test.mock.num.brokers': options.brokers ?? 1,
  'test.mock.broker.rtt': options.rttMs ?? 0,
  'client.id': 'laminar-kafka-emulator',
  event_cb: true,
});

// The listeners' addresses are only reported through this NOTICE-level log line.
const ANNOUNCE = /Mock cluster enabled: .* replaced with (\S+)/;
let bootstrapServers;
let connected = false;
const announceWhenReady = () => {
  if (bootstrapServers && connected) send({ type: 'ready', bootstrapServers });
};
host.on('event.log', (log) => {
  const match = ANNOUNCE.exec(log.message);
  if (match && !bootstrapServers) {
    bootstrapServers = match[1];
    announceWhenReady();
  }
});
host.on('event.error', (err) => send({ type: 'log', message: String(err?.message ?? err) }));

host.connect({}, (err) => {
  if (err) {
    send({ type: 'error', message: String(err?.message ?? err) });
    process.exit(1);
  }
  connected = true;
  announceWhenReady();
});

const stop = () => {
  const exit = () => process.exit(0);
  // Never hang on a broker thread: the parent is waiting.
  setTimeout(exit, 1000).unref();
  try {
    host.disconnect(0, exit);
  } catch {
    exit();
  }
};
// The parent owns this process: when it goes away (or asks), stop.
process.on('disconnect', stop);
process.on('SIGTERM', stop);

// Ctrl-C in a terminal reaches the whole process group: the parent decides when this stops.
process.on('SIGINT', () => {});
