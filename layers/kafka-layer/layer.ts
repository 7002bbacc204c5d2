import { defineLayer } from '@laminar/spec';

export default defineLayer({
  name: 'kafka-layer',
  description: "Confluent's Kafka client for Node.js (librdkafka) with the shared libraries it needs on Amazon Linux 2023.",
  // Built on the machine that installs it: x86_64 here and on GitHub's runners.
  architectures: ['x86_64'],
  runtimes: ['nodejs20.x', 'nodejs22.x'],
  modules: ['@confluentinc/kafka-javascript'],
});
