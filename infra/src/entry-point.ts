import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Whether the module at `moduleUrl` is the one node was started with (not imported by a test or another module). */
export function isEntryPoint(moduleUrl: string): boolean {
  return Boolean(process.argv[1]) && realpathSync(process.argv[1] as string) === realpathSync(fileURLToPath(moduleUrl));
}
