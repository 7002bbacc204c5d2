import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = resolve(INFRA, '..');
/** Everything tests write lives here; the global setup removes it. */
export const TEST_TMP = join(INFRA, '.tmp', 'test');
