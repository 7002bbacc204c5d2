// Runs s3rver in its own process: its continuation-token cipher (DES) needs Node's legacy OpenSSL
// provider, which must not leak into the runner's or a test's own process.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const { createHash, randomBytes } = require('node:crypto');
const { createWriteStream } = require('node:fs');
const { crc32 } = require('node:zlib');
const fs = require('node:fs/promises');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const S3Event = require('s3rver/lib/models/event');
const S3Object = require('s3rver/lib/models/object');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const { walk } = require('s3rver/lib/utils');

const options = JSON.parse(process.argv[2] ?? '{}');
const server = new S3rver({
  address: options.address ?? '127.0.0.1',
  port: options.port ?? 0,
  directory: options.directory,
  silent: true,
  configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
});

const noSuchUpload = (uploadId) =>
  new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });

/** The folder s3rver keeps a multipart upload's key, metadata and parts in. */
const uploadDirOf = (store, bucket, uploadId) => path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);

/** S3's smallest part, except for the last one. */
const MIN_PART_BYTES = 5 * 1024 * 1024;

/**
 * The tail of each key's chain of commits ("<bucket>/<key>": a bucket name has no "/"). A write's
 * commit — its metadata, the rename that puts its bytes in place, its event — waits for the one
 * before it on the same key. Without this, two writes of one key interleaved (A's metadata, B's
 * metadata, B's rename, A's rename) and left A's bytes under B's ETag for good, and their events
 * went out in an order other than the commits'. Only keys with a commit pending are here: an entry
 * is removed once its chain drains.
 */
const keyChains = new Map();
const ignore = () => undefined;

/** Runs `work` once every commit of the key queued before it has finished; resolves to its result. */
function underKeyLock(bucket, key, work) {
  const id = `${bucket}/${key}`;
  const run = (keyChains.get(id) ?? Promise.resolve()).then(work);
  const tail = run.then(ignore, ignore);
  keyChains.set(id, tail);
  tail.then(() => {
    if (keyChains.get(id) === tail) keyChains.delete(id);
  });
  return run;
}

/**
 * Writes `data` to `file` by renaming a file of its own over it: a reader gets the old or the new,
 * whole. The file of its own is at the bucket's root, as a body being received is: beside `file`
 * its longer name would cut the longest key segment the disk takes (~230 bytes) by 25.
 */
async function replaceFile(store, bucket, file, data) {
  const own = path.join(store.getBucketPath(bucket), `.partial-${randomBytes(8).toString('hex')}`);
  try {
    await fs.writeFile(own, data);
    await fs.rename(own, file);
  } catch (error) {
    await fs.rm(own, { force: true });
    throw error;
  }
}

/**
 * An object's ETag and metadata, in place of s3rver's putMetadata, which wrote over both files in
 * place: a HEAD or GET at that instant read an empty or half-written metadata.json and answered
 * 500 (one in ten, reading a key while it was written again and again). Each file is now replaced
 * whole. What is kept is s3rver's choice: the standard headers it allows and x-amz-meta-*.
 */
async function putMetadata(bucket, key, metadata, md5) {
  const kept = Object.fromEntries(
    Object.entries(metadata ?? {}).filter(([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')),
  );
  if (md5) await replaceFile(this, bucket, this.getResourcePath(bucket, key, 'object.md5'), md5);
  await replaceFile(this, bucket, this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(kept, null, 2));
}
server.store.putMetadata = putMetadata;

/**
 * The bytes in `file` become the object at `key`, with `metadata` and ETag `etag` (the ETag first:
 * s3rver computes and stores a plain MD5 for an object it finds without one). Called under the
 * key's lock. The folder is made here, not before the body arrived: a delete that emptied it has
 * removed it since (s3rver removes the folders a delete empties). A delete of another key in the
 * folder can still remove it between the mkdir and the first file written, hence the retries.
 */
async function intoPlace(store, bucket, key, metadata, etag, file) {
  const objectPath = store.getResourcePath(bucket, key, 'object');
  for (let attempt = 1; ; attempt++) {
    // The bytes must still be there before the metadata is written: an abort can remove an upload's
    // folder while its completion waits for the key, and the key's current object would then get
    // the ETag of bytes that never arrive. (Not retried: only a missing folder of the key is.)
    await fs.access(file);
    try {
      await fs.mkdir(path.dirname(objectPath), { recursive: true });
      await store.putMetadata(bucket, key, metadata, etag);
      await fs.rename(file, objectPath);
      return;
    } catch (error) {
      if (error?.code !== 'ENOENT' || attempt === 3) throw error;
    }
  }
}

/**
 * S3's sequencer, greater for a later change of a key: the commit's time in microseconds plus a
 * counter, as fixed-width hex so that string order is commit order. s3rver's (the millisecond) was
 * the same for changes within one millisecond.
 */
let lastSequencer = 0n;
function nextSequencer() {
  let next = BigInt(Date.now()) * 1000n;
  if (next <= lastSequencer) next = lastSequencer + 1n;
  lastSequencer = next;
  return next.toString(16).toUpperCase().padStart(16, '0');
}

/**
 * Sends the notification of a change just committed, from inside the key's lock: a key's events
 * leave in the order of its changes, each with a greater sequencer than the one before (the runner
 * numbers them again as they arrive). s3rver's controllers emit theirs once the store has returned,
 * in no set order between requests, and without the ETag of a copy: those are not forwarded. The
 * record is otherwise s3rver's (see S3Emulator.events); `object` is `{ size, etag }` for a write.
 */
function sendCommitted(bucket, key, eventType, object) {
  const request = requests.getStore();
  const ctx = request?.ctx;
  const event = new S3Event(
    { bucket, eventType, S3Item: { key, size: object?.size, metadata: { etag: JSON.stringify(object?.etag) } } },
    { reqHeaders: { host: '', ...ctx?.headers }, sourceIp: ctx?.ip },
  );
  for (const record of event.Records) {
    record.s3.object.sequencer = nextSequencer();
    if (eventType === 'Copy') record.s3.object.eTag = object.etag;
  }
  if (!process.connected) return;
  process.send(request ? { type: 'event', event, request: requestOf(request) } : { type: 'event', event });
}

/**
 * Parts appended to a file in the upload's folder as they arrive in order (part 1, 2, …), each
 * with the ETag it was appended with: by completion most of the object is there already.
 *
 * Why: S3 answers CompleteMultipartUpload in a fraction of a second whatever the object's size —
 * it copies nothing. Copying every part at completion made this emulator answer in ~0.15 s at
 * 135 MB, ~2 s at 1.3 GB and up to ~10 s at 2.7 GB, a wait no function meets on AWS (and which the
 * csv-validator benchmark counted as the function's). Appending on arrival does the copying while
 * the client is still uploading, on the emulator's own time. Completion still decides what the
 * object is: the listed parts alone, in their order (see putObjectMultipart).
 */
const assemblies = new Map();
/** Uploads being completed: a part arriving meanwhile is not appended. */
const completing = new Set();

function assemblyOf(uploadDir) {
  let assembly = assemblies.get(uploadDir);
  if (!assembly) {
    assembly = { file: path.join(uploadDir, 'assembling'), appended: [], arrived: new Map(), chain: Promise.resolve(), broken: false };
    assemblies.set(uploadDir, assembly);
  }
  return assembly;
}

/** Notes that part `number` arrived with ETag `etag`, and appends whatever now follows in order. */
function partArrived(uploadDir, number, etag) {
  if (completing.has(uploadDir)) return;
  const assembly = assemblyOf(uploadDir);
  assembly.arrived.set(number, etag);
  assembly.chain = assembly.chain.then(async () => {
    for (;;) {
      const next = assembly.appended.length + 1;
      const nextEtag = assembly.arrived.get(next);
      if (assembly.broken || nextEtag === undefined) return;
      try {
        // Part 1 starts the file afresh: a completion that failed may have left one behind.
        await concatenate([path.join(uploadDir, `${next}.${nextEtag}`)], assembly.file, { append: next > 1 });
        assembly.appended.push({ number: next, etag: nextEtag });
      } catch {
        // Aborted meanwhile (its folder removed), say: completion copies every part instead.
        assembly.broken = true;
      }
    }
  });
}

/**
 * CompleteMultipartUpload as S3 does it, in place of s3rver's. s3rver pipes every part through a
 * stream 64 KiB at a time and hashes the whole object again — seconds for a large object, while
 * S3 answers in a fraction of one — and it checks nothing. Here: the listed parts must exist with
 * the listed ETags, in ascending order, each but the last at least 5 MiB (InvalidPart,
 * InvalidPartOrder, EntityTooSmall, as S3 answers); the object is assembled in the upload's folder
 * and renamed into place only once complete (a reader never sees a half-written object); and its
 * ETag is S3's multipart ETag, the MD5 of the parts' MD5s followed by "-<part count>". The parts
 * appended on arrival (assemblies) are used when they are the listed ones, in the listed order,
 * with the listed ETags; otherwise every listed part is copied, as before.
 */
async function putObjectMultipart(bucket, uploadId, parts) {
  const uploadDir = uploadDirOf(this, bucket, uploadId);
  const [key, metadata] = await Promise.all([
    fs.readFile(path.join(uploadDir, 'key'), 'utf8'),
    fs.readFile(path.join(uploadDir, 'metadata'), 'utf8').then(JSON.parse),
  ]).catch((error) => {
    throw error.code === 'ENOENT' ? noSuchUpload(uploadId) : error;
  });
  const digests = [];
  const files = [];
  if (parts.some((part, i) => i > 0 && part.number <= parts[i - 1].number)) {
    throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  }
  for (const [i, part] of parts.entries()) {
    // A part's file is named after its MD5 (putPart): the listed ETag names the bytes it stands for.
    const md5 = /^[0-9a-f]{32}$/.test(part.etag) ? part.etag : undefined;
    const file = path.join(uploadDir, `${part.number}.${md5}`);
    const stat = md5 ? await fs.stat(file).catch(() => undefined) : undefined;
    if (!stat) {
      throw new S3Error('InvalidPart', "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", { PartNumber: part.number, ETag: part.etag });
    }
    const size = stat.size;
    if (i < parts.length - 1 && size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', { PartNumber: part.number, ProposedSize: size, MinSizeAllowed: MIN_PART_BYTES });
    }
    digests.push(Buffer.from(md5, 'hex'));
    files.push(file);
  }
  completing.add(uploadDir);
  const assembly = assemblies.get(uploadDir);
  assemblies.delete(uploadDir);
  let assembled = path.join(uploadDir, 'assembled');
  let size;
  try {
    await assembly?.chain;
    const prefix = assembly && !assembly.broken && assembly.appended.length <= parts.length ? assembly.appended : [];
    const usable = prefix.length > 0 && prefix.every((p, i) => p.number === Number(parts[i].number) && p.etag === parts[i].etag);
    if (usable) {
      assembled = assembly.file;
      size = await concatenate(files.slice(prefix.length), assembled, { append: true });
    } else {
      size = await concatenate(files, assembled);
    }
  } finally {
    completing.delete(uploadDir);
  }
  const etag = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`;
  try {
    await underKeyLock(bucket, key, async () => {
      await intoPlace(this, bucket, key, metadata, etag, assembled);
      sendCommitted(bucket, key, 'Post', { size, etag });
    });
  } catch (error) {
    // As putObject does: a 500 here would be retried by the SDK for ever after.
    if (error?.code === 'ENAMETOOLONG') throw keyTooLong(key);
    throw error;
  }
  await fs.rm(uploadDir, { recursive: true, force: true });
  return { size, md5: etag };
}
server.store.putObjectMultipart = putObjectMultipart;

/** Bytes moved per read and write when parts are copied. */
const COPY_CHUNK_BYTES = 1 << 20;

/**
 * Writes `files` (paths, or handles open for reading, which stay open) one after the other into
 * `target` (after what it holds, with `append`), feeding `hash` what it writes; returns the
 * target's size. Reads and writes go through libuv's thread pool, a reused buffer at a time: the
 * event loop only hands them over.
 *
 * Why not `cat` (copy_file_range, in the kernel, which this used before): spawning a child forks
 * this process, and the fork blocks the event loop for as long as copying its page tables takes —
 * 12 ms at 150 MB of RSS, 30 ms at 570 MB, measured here. Once per 5 MiB part, that held up every
 * request in flight: ~1 s of each csv-validator benchmark run at 100 MB, which the function's
 * uploads and reads waited through.
 */
async function concatenate(files, target, { append = false, hash } = {}) {
  const out = await fs.open(target, append ? 'a' : 'w');
  try {
    let position = append ? (await out.stat()).size : 0;
    const buffer = Buffer.allocUnsafeSlow(COPY_CHUNK_BYTES);
    for (const file of files) {
      const source = typeof file === 'string' ? await fs.open(file, 'r') : file;
      try {
        for (;;) {
          const { bytesRead } = await source.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          hash?.update(buffer.subarray(0, bytesRead));
          let written = 0;
          while (written < bytesRead) written += (await out.write(buffer, written, bytesRead - written, position + written)).bytesWritten;
          position += bytesRead;
        }
      } finally {
        if (source !== file) await source.close();
      }
    }
    return position;
  } finally {
    await out.close();
  }
}

/**
 * The integrity headers of the request being served (`Content-MD5`, `x-amz-checksum-crc32`), which
 * s3rver ignores: S3 refuses a body that does not match them (BadDigest), and so does this, so
 * that a checksum a client computes itself (@laminar/aws's MultipartWriter signs each part's CRC32
 * instead of hashing it) is checked locally as it will be on AWS.
 */
function expectedDigests() {
  const headers = requests.getStore()?.ctx.headers ?? {};
  const md5 = headers['content-md5'];
  const crc = headers['x-amz-checksum-crc32'];
  if (md5 !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(md5)) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
  if (crc !== undefined && !/^[A-Za-z0-9+/]{6}==$/.test(crc)) throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-crc32 header is invalid.');
  return { md5, crc };
}

/** Throws S3's BadDigest when the bytes received do not match what the request declared. */
function checkDigests(expected, md5Hex, crcValue) {
  const md5 = Buffer.from(md5Hex, 'hex').toString('base64');
  if (expected.md5 !== undefined && md5 !== expected.md5) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', { ExpectedDigest: expected.md5, CalculatedDigest: md5 });
  }
  if (expected.crc !== undefined) {
    const calculated = Buffer.alloc(4);
    calculated.writeUInt32BE(crcValue >>> 0);
    if (calculated.toString('base64') !== expected.crc) throw new S3Error('BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
  }
}

/**
 * Writes a request's body to `file` (a name of its own, renamed into place by the caller once this
 * resolves): its size and MD5, once its Content-MD5 and CRC32, when the request gave them, match.
 */
async function receive(content, file) {
  const expected = expectedDigests();
  const md5 = createHash('md5');
  let crc = 0;
  let size = 0;
  await pipeline(
    content,
    async function* (chunks) {
      for await (const chunk of chunks) {
        md5.update(chunk);
        if (expected.crc !== undefined) crc = crc32(chunk, crc);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  const digest = md5.digest('hex');
  checkDigests(expected, digest, crc);
  return { size, digest };
}

/**
 * UploadPart, in place of s3rver's, which answers once its hashing stream has finished — the
 * part's file may still be being written when the client goes on to complete the upload — and
 * writes over the part in place, so an upload of it cut short leaves the earlier ETag naming
 * partial bytes. Here a part is written to a file of its own and renamed, once complete, after
 * its MD5: an ETag always names exactly the bytes it was given for, as in S3.
 */
async function putPart(bucket, uploadId, partNumber, content) {
  const uploadDir = uploadDirOf(this, bucket, uploadId);
  const uploadExists = async () => (await fs.stat(path.join(uploadDir, 'key')).catch(() => undefined)) !== undefined;
  if (!(await uploadExists())) throw noSuchUpload(uploadId);
  const partial = path.join(uploadDir, `${partNumber}.${randomBytes(8).toString('hex')}.partial`);
  try {
    const { size, digest } = await receive(content, partial);
    await fs.rename(partial, path.join(uploadDir, `${partNumber}.${digest}`));
    partArrived(uploadDir, Number(partNumber), digest);
    return { size, md5: digest };
  } catch (error) {
    await fs.rm(partial, { force: true });
    if (error instanceof S3Error) throw error;
    // Aborted while this part was on its way (its folder, or the file in it, removed): S3 answers
    // such a part NoSuchUpload, not an internal error.
    if (!(await uploadExists())) throw noSuchUpload(uploadId);
    throw error;
  }
}
server.store.putPart = putPart;

/** S3 lists keys in the byte order of their UTF-8 encoding. */
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
/** The same order over keys encoded once (`{ key, bytes }`), for sorting many. */
const byBytes = (a, b) => Buffer.compare(a.bytes, b.bytes);
/** The end of the file name s3rver stores an object's bytes under (`<last key segment>._S3rver_object`). */
const OBJECT_SUFFIX = '._S3rver_object';

/**
 * ListObjects in S3's order, in place of s3rver's. s3rver walks its folders in file-name order, so
 * a folder `a/` came before the file of key `a`, and `file-2` before `file`: a page could end on a
 * key that sorts after keys not listed yet, which the next page (everything after that key) then
 * never gave, while others came twice. Here every key under the prefix is gathered, sorted by its
 * UTF-8 bytes, and the page taken from that. (A common prefix still does not count towards
 * MaxKeys, as in s3rver: no function here lists with a delimiter.)
 */
async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY } = options ?? {};
  const bucketPath = this.getBucketPath(bucket);
  const prefixPath = [bucketPath, FilesystemStore.encodeKeyPath(prefix)].join('/');
  const after = Buffer.from(startAfter, 'utf8');
  const found = [];
  for (const file of walk(bucketPath, (dir) => dir.startsWith(prefixPath) || prefixPath.startsWith(dir))) {
    if (!file.endsWith(OBJECT_SUFFIX)) continue;
    const key = FilesystemStore.decodeKeyPath(file.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length));
    const bytes = Buffer.from(key, 'utf8');
    if (key.startsWith(prefix) && Buffer.compare(bytes, after) > 0) found.push({ key, bytes });
  }
  found.sort(byBytes);
  const commonPrefixes = new Set();
  const keys = [];
  let isTruncated = false;
  for (const { key } of found) {
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (at !== -1) {
      commonPrefixes.add(key.slice(0, at + delimiter.length));
      continue;
    }
    if (keys.length === maxKeys) {
      isTruncated = true;
      break;
    }
    keys.push(key);
  }
  const metadata = await Promise.all(keys.map((key) => this.getMetadata(bucket, key).catch((error) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)))));
  return {
    objects: keys.flatMap((key, i) => (metadata[i] === undefined ? [] : [new S3Object(bucket, key, null, metadata[i])])),
    commonPrefixes: [...commonPrefixes].sort(byteOrder),
    isTruncated,
  };
}
server.store.listObjects = listObjects;

/**
 * PutObject (and a form's PostObject), in place of s3rver's, which wrote the new bytes over the old
 * object as they arrived (a reader meanwhile got part of the new bytes under the old ETag, and an
 * upload cut off left a truncated object with no event) and answered before the file was complete.
 * As in S3, the object changes only once every byte has arrived: written beside it, then renamed
 * into place under the key's lock (the ETag just before, so the two differ for an instant only). A
 * key whose last segment is too long for a file name is refused with a clear error instead of
 * taking the emulator down.
 */
async function putObject(object) {
  const { bucket, key } = object;
  const partial = path.join(this.getBucketPath(bucket), `.partial-${randomBytes(8).toString('hex')}`);
  try {
    const { size, digest } = await receive(Buffer.isBuffer(object.content) ? [object.content] : object.content, partial);
    const eventType = requests.getStore()?.ctx.method === 'POST' ? 'Post' : 'Put';
    await underKeyLock(bucket, key, async () => {
      await intoPlace(this, bucket, key, object.metadata, digest, partial);
      sendCommitted(bucket, key, eventType, { size, etag: digest });
    });
    return { size, md5: digest };
  } catch (error) {
    await fs.rm(partial, { force: true });
    if (error?.code === 'ENAMETOOLONG') throw keyTooLong(object.key);
    throw error;
  }
}
server.store.putObject = putObject;

/**
 * CopyObject, in place of s3rver's, which removed the destination and copied the bytes where it
 * was (a reader meanwhile found no object, then a growing one) and, with MetadataDirective REPLACE,
 * kept the destination's old ETag — or copied the source's, a multipart `-N` one included. As S3
 * does for a copy made by CopyObject (one part), the ETag is the MD5 of the bytes, computed while
 * they are copied beside the destination; the copy is then renamed into place under its key's lock,
 * as a PutObject is. The source's file and metadata are taken together under the source key's lock
 * (an open file keeps its bytes whatever replaces it), then the lock is let go before the
 * destination's is taken: two copies in opposite directions cannot wait for each other.
 */
async function copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
  const source = await underKeyLock(srcBucket, srcKey, async () => {
    const handle = await fs.open(this.getResourcePath(srcBucket, srcKey, 'object'), 'r').catch((error) => {
      throw error.code === 'ENOENT' ? new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: srcKey }) : error;
    });
    try {
      const stored = replacementMetadata
        ? undefined
        : await fs
            .readFile(this.getResourcePath(srcBucket, srcKey, 'metadata.json'), 'utf8')
            .then(JSON.parse)
            .catch((error) => (error.code === 'ENOENT' ? {} : Promise.reject(error)));
      return { handle, metadata: replacementMetadata ?? stored };
    } catch (error) {
      await handle.close();
      throw error;
    }
  });
  const partial = path.join(this.getBucketPath(destBucket), `.partial-${randomBytes(8).toString('hex')}`);
  try {
    const hash = createHash('md5');
    const size = await concatenate([source.handle], partial, { hash });
    const etag = hash.digest('hex');
    return await underKeyLock(destBucket, destKey, async () => {
      await intoPlace(this, destBucket, destKey, source.metadata, etag, partial);
      // Read back under the lock: what the answer says is this copy, not a write after it.
      const metadata = await this.getMetadata(destBucket, destKey);
      sendCommitted(destBucket, destKey, 'Copy', { size, etag });
      return metadata;
    });
  } catch (error) {
    await fs.rm(partial, { force: true });
    if (error?.code === 'ENAMETOOLONG') throw keyTooLong(destKey);
    throw error;
  } finally {
    await source.handle.close();
  }
}
server.store.copyObject = copyObject;

/** What this emulator answers for a key it cannot store (AWS takes any key up to 1,024 bytes). */
function keyTooLong(key) {
  const longest = Math.max(...key.split('/').map((segment) => Buffer.byteLength(segment)));
  return new S3Error(
    'KeyTooLongError',
    `The embedded S3 keeps each key segment in a file name, and this key's longest segment (${longest} bytes) does not fit one; AWS accepts it (any key up to 1,024 bytes).`,
    { Key: key },
  );
}

/**
 * The bucket and key a path-style object request names, undefined when it names no object. A
 * bucket must be a name S3 could hold and exist, and the key decode, else S3's error is thrown:
 * nothing else becomes a path in the store.
 */
async function objectOf(ctx) {
  const named = namedInPath(ctx);
  if (!named) return undefined;
  const { bucket, key } = named;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || !(await server.store.getBucket(bucket))) {
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
  }
  if (key === undefined) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: ctx.path });
  return { bucket, key };
}

/** The bucket and key a path-style object request names, as written: the key undefined when it does not decode. */
function namedInPath(ctx) {
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!match) return undefined;
  try {
    return { bucket: match[1], key: decodeURIComponent(match[2]) };
  } catch {
    return { bucket: match[1], key: undefined };
  }
}

/**
 * AbortMultipartUpload, which s3rver refuses (MethodNotAllowed): the upload's parts are removed and
 * later requests naming it answer NoSuchUpload, as in S3. Before s3rver's router, after its error
 * handling (an S3Error thrown here is answered as its own are).
 */
async function abortMultipartUpload(ctx, next) {
  if (ctx.method !== 'DELETE' || ctx.query?.uploadId === undefined) return next();
  const object = await objectOf(ctx);
  if (!object) return next();
  const { bucket, key } = object;
  const uploadId = String(ctx.query.uploadId);
  // s3rver's upload ids are hex: anything else names no upload (and no path outside the store).
  const uploadDir = /^[0-9a-f]+$/.test(uploadId) ? uploadDirOf(server.store, bucket, uploadId) : undefined;
  const uploadKey = uploadDir ? await fs.readFile(path.join(uploadDir, 'key'), 'utf8').catch(() => undefined) : undefined;
  if (uploadKey === undefined || uploadKey !== key) throw noSuchUpload(uploadId);
  assemblies.delete(uploadDir);
  // Retried: a part still being written into the folder can make one removal find it not empty.
  await fs.rm(uploadDir, { recursive: true, force: true, maxRetries: 5 });
  ctx.status = 204;
}
// The router is s3rver's last middleware.
server.middleware.splice(server.middleware.length - 1, 0, abortMultipartUpload);

/** S3's limit on an object key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/**
 * A key over S3's 1,024 bytes is refused (400 KeyTooLongError) whatever the request, as S3 does;
 * s3rver would store it (segments permitting), so code that makes such keys passed here and failed
 * on AWS.
 */
async function keyLength(ctx, next) {
  // Not decodable: objectOf and s3rver answer that.
  const key = namedInPath(ctx)?.key;
  const size = key === undefined ? 0 : Buffer.byteLength(key);
  if (size > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError', 'Your key is too long', { Size: size, MaxSizeAllowed: MAX_KEY_BYTES });
  return next();
}
server.middleware.splice(server.middleware.length - 1, 0, keyLength);

/**
 * PutObject's conditional write (`If-None-Match: *`), which s3rver ignores: with an object already
 * at the key it answers 412 PreconditionFailed and writes nothing, as S3 does. (A check before the
 * write, not one atomic step: two such writes at the same instant could both pass here.)
 */
async function conditionalPut(ctx, next) {
  if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*' || ctx.get('x-amz-copy-source') || ctx.query?.uploadId !== undefined) return next();
  const object = await objectOf(ctx);
  if (!object) return next();
  if (await server.store.existsObject(object.bucket, object.key)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
  }
  return next();
}
server.middleware.splice(server.middleware.length - 1, 0, conditionalPut);

/** The metadata of the object a request names, undefined when it names none or none is there. */
async function metadataOf(ctx) {
  const object = await objectOf(ctx);
  return object ? server.store.getMetadata(object.bucket, object.key).catch(() => undefined) : undefined;
}

/** Whether an `If-Match` header (`*`, or a list of entity tags, quoted or not) names `etag`. */
function etagMatches(header, etag) {
  const bare = (tag) => tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

/**
 * GetObject's and HeadObject's `If-Match`, which s3rver ignores: an object whose ETag the header
 * does not name is answered 412 PreconditionFailed, as S3 does, instead of being served. Readers
 * pin the version an event announced this way (csv-validator): without it, an object replaced
 * before its first event was handled was read as the new bytes under the old ETag's outputs.
 * A missing object falls through to s3rver's NoSuchKey, as in S3 (404 before 412).
 */
async function conditionalRead(ctx, next) {
  const header = ctx.get('if-match');
  if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !header || ctx.query?.uploadId !== undefined) return next();
  const metadata = await metadataOf(ctx);
  if (metadata && !etagMatches(header, metadata.etag)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }
  return next();
}
server.middleware.splice(server.middleware.length - 1, 0, conditionalRead);

/**
 * A suffix range (`Range: bytes=-N`, the last N bytes, as a footer read asks), which s3rver reads
 * as `bytes=0-N`: rewritten to the absolute range S3 serves. A suffix of 0 bytes is not satisfiable
 * (InvalidRange, as S3 answers).
 */
async function suffixRange(ctx, next) {
  const suffix = ctx.method === 'GET' ? /^bytes=-(\d+)$/.exec(ctx.get('range')) : null;
  if (!suffix) return next();
  const metadata = await metadataOf(ctx);
  if (!metadata) return next();
  const size = Number(metadata['content-length']);
  const wanted = Number(suffix[1]);
  if (wanted === 0 || size === 0) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: ctx.get('range'), ActualObjectSize: size });
  }
  ctx.request.headers.range = `bytes=${Math.max(0, size - wanted)}-${size - 1}`;
  return next();
}
server.middleware.splice(server.middleware.length - 1, 0, suffixRange);

/**
 * CopyObject's source as S3 reads it: s3rver decodes `x-amz-copy-source` with decodeURI, which
 * leaves %2B, %3D, %2C, %3A, %40 (and the rest of the reserved characters) encoded, so a source key
 * with `+` or a Hive-style `dt=` segment, encoded as S3 asks, was NoSuchKey. The header is decoded
 * here as S3 does, then encoded again so that decodeURI gives back exactly that key. A
 * `?versionId=` is dropped: the store keeps one version of each key.
 */
async function copySource(ctx, next) {
  const header = ctx.get('x-amz-copy-source');
  if (ctx.method !== 'PUT' || !header) return next();
  const at = header.indexOf('?');
  let source;
  try {
    source = decodeURIComponent(at === -1 ? header : header.slice(0, at));
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source', ArgumentValue: header });
  }
  ctx.request.headers['x-amz-copy-source'] = encodeURI(source);
  return next();
}
server.middleware.splice(server.middleware.length - 1, 0, copySource);

/**
 * Removes an object's files, then the folders that left empty, as s3rver's removal does — except
 * that a folder is removed only if empty at that instant (rmdir), where s3rver listed it first and
 * then removed it: a write putting its object in the folder between the two failed the removal
 * (ENOTEMPTY) with the object already gone. A folder something is in, or that is gone, ends it.
 */
async function removeObject(bucket, key) {
  const store = server.store;
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((resource) =>
      fs.unlink(store.getResourcePath(bucket, key, resource)).catch((error) => (error.code === 'ENOENT' ? undefined : Promise.reject(error))),
    ),
  );
  const folders = FilesystemStore.encodeKeyPath(key).split('/').slice(0, -1);
  for (; folders.length > 0; folders.pop()) {
    try {
      await fs.rmdir(path.join(store.getBucketPath(bucket), ...folders));
    } catch (error) {
      if (['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(error.code)) return;
      throw error;
    }
  }
}

// s3rver started a DeleteObjects' removals all at once, and two of them in one folder raced to
// remove it (ENOENT): the request failed half-way. Removals run one at a time, whatever asked,
// each under its key's lock (a removal is a commit: its event goes out in order with the writes').
// S3 reports each object a DeleteObject or DeleteObjects removes (ObjectRemoved:Delete, EventBridge
// "Object Deleted"); s3rver's DeleteObjects reported none. A key already gone reports nothing.
let removals = Promise.resolve();
server.store.deleteObject = (bucket, key) => {
  const removal = removals.then(() =>
    underKeyLock(bucket, key, async () => {
      if (!(await server.store.existsObject(bucket, key))) return;
      await removeObject(bucket, key);
      sendCommitted(bucket, key, 'Delete');
    }),
  );
  removals = removal.catch(ignore);
  return removal;
};

// Each request runs in its own async context, so that the store's methods know the request they
// serve: its integrity headers (expectedDigests) and, for its events, which API call it is (s3rver's
// records call a multipart upload and a form POST both "ObjectCreated:Post").
const requests = new AsyncLocalStorage();

function operationOf(ctx) {
  const q = ctx.query ?? {};
  if (ctx.method === 'DELETE') return 'DeleteObject';
  if (ctx.method === 'PUT') return ctx.get('x-amz-copy-source') ? 'CopyObject' : 'PutObject';
  if (ctx.method === 'POST') return 'uploadId' in q ? 'CompleteMultipartUpload' : 'delete' in q ? 'DeleteObjects' : 'PostObject';
  return ctx.method;
}

/** The request behind a request context's events (S3EventRequest), the same for all of them. */
function requestOf(context) {
  context.request ??= {
    operation: operationOf(context.ctx),
    requestId: randomBytes(8).toString('hex').toUpperCase(),
    sourceIp: String(context.ctx.ip ?? '127.0.0.1').replace(/^::ffff:/, ''),
  };
  return context.request;
}

server.middleware.unshift((ctx, next) => requests.run({ ctx }, next));

// IPC keeps order: once this answer arrives, every event of a request answered before it has too.
process.on('message', (m) => {
  if (m?.type === 'flush' && process.connected) process.send({ type: 'flushed', id: m.id });
  if (m?.type === 'accept-key') {
    // s3rver knows one key pair (S3RVER); it refuses an access key id its account does not hold.
    require('s3rver/lib/models/account').DUMMY_ACCOUNT.createKeyPair(m.accessKeyId, m.secretAccessKey);
    if (process.connected) process.send({ type: 'flushed', id: m.id });
  }
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
