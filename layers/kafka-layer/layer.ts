import { defineLayer } from '@laminar/spec';

export default defineLayer({
  name: 'kafka-layer',
  description: "Confluent's Kafka client for Node.js (librdkafka) with the shared libraries it needs on Amazon Linux 2023.",
  // Built on the machine that installs it: x86_64 here and on GitHub's runners.
  architectures: ['x86_64'],
  // The addon is a NAN (not Node-API) module: it loads only on the Node major it was compiled with
  // (NODE_MODULE_VERSION 115 = Node 20, as installed here). The layer check refuses a runtime whose
  // Node would reject it; add nodejs22.x only for a layer built under Node 22.
  runtimes: ['nodejs20.x'],
  modules: ['@confluentinc/kafka-javascript'],
});
