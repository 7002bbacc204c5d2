// Writes objects straight into an s3rver data folder through s3rver's own store classes: the same
// on-disk format its server reads, at file-system speed (HTTP PUTs manage ~500/s here).
'use strict';
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');

module.exports.seedStore = async function seedStore(directory, bucket, objects, concurrency = 64) {
  const store = new FilesystemStore(directory);
  await store.putBucket(bucket);
  let next = 0;
  async function worker() {
    while (next < objects.length) {
      const { key, body, contentType } = objects[next++];
      const content = Buffer.isBuffer(body) ? body : Buffer.from(body);
      await store.putObject(new S3Object(bucket, key, content, { 'content-type': contentType ?? 'application/pdf' }));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
};
