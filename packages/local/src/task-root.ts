import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import yauzl from 'yauzl';

export interface TaskRoot {
  dir: string;
  /** Hex SHA-256 of the zip. */
  sha256: string;
}

const hashCache = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

/** Hashes the zip itself (not the .sha256 file beside it), so a stale hash file cannot mix versions. */
export async function zipSha256(zipPath: string): Promise<string> {
  const st = statSync(zipPath);
  const cached = hashCache.get(zipPath);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.sha256;
  const hash = createHash('sha256');
  await pipeline(createReadStream(zipPath), hash);
  const sha256 = hash.digest('hex');
  hashCache.set(zipPath, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  return sha256;
}

/**
 * The unzipped code of one build, shared by every environment of that build: the folder name
 * carries the zip's hash, so a rebuild gets a new folder and running environments keep theirs.
 */
export async function prepareTaskRoot(envsDir: string, name: string, zipPath: string, sourceDir?: string): Promise<TaskRoot> {
  const sha256 = await zipSha256(zipPath);
  // Once, as the folder is made: a warm invocation reuses it and reads nothing more.
  const finish = sourceDir ? (extracted: string) => pointMapAtSources(join(extracted, 'index.mjs.map'), sourceDir) : undefined;
  const dir = await prepareExtracted(envsDir, name, sha256.slice(0, 12), [zipPath], finish);
  return { dir, sha256 };
}

/**
 * Points the bundle's source map at the function's sources in this checkout (its `sourceRoot`), so
 * that a stack frame names a file one can open. The map's sources are relative to the function's
 * folder, where the bundler ran, and the zip keeps them so (no absolute path, byte-identical
 * builds); resolved from the unzipped copy under .laminar/envs/ they named files that do not
 * exist (.laminar/packages/runtime/src/…). Only this local copy is changed, before the folder is
 * renamed into place.
 */
function pointMapAtSources(mapPath: string, sourceDir: string): void {
  if (!existsSync(mapPath)) return;
  let map: { sourceRoot?: string };
  try {
    map = JSON.parse(readFileSync(mapPath, 'utf8'));
  } catch {
    // Not a map Node could use either: the bundle runs all the same, with frames in index.mjs.
    return;
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return;
  map.sourceRoot = pathToFileURL(`${sourceDir}${sep}`).href;
  writeFileSync(mapPath, JSON.stringify(map));
}

/**
 * `<baseDir>/<name>-<key>/` holding the zips extracted in order (a later zip's files replace an
 * earlier one's, as Lambda merges layers into /opt). Reused while it exists; older keys of the
 * same name are pruned.
 */
export async function prepareExtracted(baseDir: string, name: string, key: string, zipPaths: string[], finish?: (extracted: string) => void): Promise<string> {
  const dir = join(baseDir, `${name}-${key}`);
  if (existsSync(dir)) {
    // Marks it as recently used, so pruning keeps a build someone went back to.
    const now = new Date();
    utimesSync(dir, now, now);
    return dir;
  }
  // Extract beside the target and rename: a crash or a concurrent start never sees half a folder.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const zipPath of zipPaths) await extractZip(zipPath, tmp);
    finish?.(tmp);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneOldBuilds(baseDir, name, KEEP_BUILDS);
  return dir;
}

/** Builds kept per function: a running environment may still use the one before the latest. */
const KEEP_BUILDS = 3;

function pruneOldBuilds(envsDir: string, name: string, keep: number): void {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{12}$`);
  const builds = readdirSync(envsDir)
    .filter((d) => pattern.test(d))
    .map((d) => ({ d, mtime: statSync(join(envsDir, d)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { d } of builds.slice(keep)) rmSync(join(envsDir, d), { recursive: true, force: true });
}

export async function extractZip(zipPath: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zipPath, { lazyEntries: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        writeEntry(zip, entry, dest).then(() => zip.readEntry(), reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

async function writeEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, dest: string): Promise<void> {
  const name = normalize(entry.fileName);
  if (isAbsolute(name) || name === '..' || name.startsWith(`..${sep}`)) {
    throw new Error(`zip entry escapes the task root: ${entry.fileName}`);
  }
  const target = join(dest, name);
  if (entry.fileName.endsWith('/')) {
    mkdirSync(target, { recursive: true });
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  const attributes = entry.externalFileAttributes >>> 16;
  const input = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))),
  );
  if ((attributes & 0o170000) === 0o120000) {
    // Layers ship shared libraries as symlinks (libfoo.so.1 -> libfoo.so.1.2.3): keep them links.
    const link = (await text(input)).trim();
    const resolved = normalize(join(dirname(name), link));
    if (isAbsolute(link) || resolved === '..' || resolved.startsWith(`..${sep}`)) {
      throw new Error(`zip symlink escapes the folder: ${entry.fileName} -> ${link}`);
    }
    rmSync(target, { force: true });
    symlinkSync(link, target);
    return;
  }
  const mode = attributes & 0o777;
  // A later layer replaces an earlier one's file, even a read-only one.
  rmSync(target, { force: true });
  await pipeline(input, createWriteStream(target, { mode: mode || 0o644 }));
}
