import { defineLayer } from '@laminar/spec';

export default defineLayer({
  name: 'kafka-layer',
  description: "Confluent's Kafka client for Node.js (librdkafka) with the shared libraries it needs on Amazon Linux 2023.",
  // Built on the machine that installs it: x86_64 here and on GitHub's runners.
  architectures: ['x86_64'],
  // The addon is a NAN (not Node-API) module: it loads only on the Node major it was compiled for
  // (NODE_MODULE_VERSION 127 = Node 22). The installed one is for the workspace's Node; the build
  // compiles it again for this runtime's Node (src/addon.ts), and the check refuses a mismatch.
  runtimes: ['nodejs22.x'],
  modules: ['@confluentinc/kafka-javascript'],
});
