import { defineQueue } from '@laminar/spec';

export default defineQueue({
  name: 'pdf-manifest-results',
  description:
    'pdf-manifest results of asynchronous requests (its on-success destination): Lambda discards an async result, and the manifest URL is the only output. Links live 15 minutes at most; the manifest object under manifests/ stays 8 days.',
  retentionDays: 1,
});
