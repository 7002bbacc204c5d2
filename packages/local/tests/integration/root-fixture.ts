import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempRoot, zipBuffer } from './fixtures.ts';

/** Lists the function's bucket through the endpoint it was given (s3rver does not check signatures). */
const PROBE = `
export const handler = async (event) => {
  const res = await fetch(process.env.AWS_ENDPOINT_URL_S3 + '/' + process.env.DATA_BUCKET + '?list-type=2');
  if (event.fail) throw new TypeError('asked to fail');
  return {
    status: res.status,
    listing: await res.text(),
    bucket: process.env.DATA_BUCKET,
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    pathStyle: process.env.LAMINAR_S3_FORCE_PATH_STYLE,
    event,
  };
};
`;

function spec(name: string): string {
  return `import { defineFunction } from '@laminar/spec';
export default defineFunction({
  name: '${name}',
  memoryMb: 128,
  timeoutS: 5,
  env: { DATA_BUCKET: { ref: { bucket: 'data' } }, MODE: 'test' },
  triggers: [{ kind: 'invoke' }],
  permissions: [{ actions: ['s3:ListBucket'], resource: { bucket: 'data' } }],
});
`;
}

/** A repository root with a built function "probe" and a function "unbuilt" that has no zip. */
export async function probeRoot(): Promise<{ dir: string; remove(): void }> {
  const root = tempRoot();
  writeFileSync(join(root.dir, 'pnpm-workspace.yaml'), 'packages: []\n');
  for (const name of ['probe', 'unbuilt']) {
    mkdirSync(join(root.dir, 'functions', name, 'dist'), { recursive: true });
    writeFileSync(join(root.dir, 'functions', name, 'spec.ts'), spec(name));
  }
  writeFileSync(join(root.dir, 'functions', 'probe', 'dist', 'probe.zip'), await zipBuffer({ 'index.mjs': PROBE }));
  mkdirSync(join(root.dir, 'events'));
  writeFileSync(join(root.dir, 'events', 'hello.json'), JSON.stringify({ hello: 'world' }));
  writeFileSync(join(root.dir, 'events', 'fail.json'), JSON.stringify({ fail: true }));
  writeFileSync(join(root.dir, 'events', 'broken.json'), '{ not json');
  return root;
}
