import { readableLogLine } from './log-format.ts';

/** Where the runner prints what functions and the platform say. */
export interface Output {
  line(functionName: string, text: string, stream?: 'stdout' | 'stderr'): void;
}

export const silentOutput: Output = { line() {} };

const COLORS = [36, 35, 33, 32, 34, 96, 95, 93];

/**
 * Prefixes every line with the function's name, coloured per function on a terminal. Function log
 * lines are made readable (log-format.ts) unless `raw`: then they are printed as the function wrote
 * them, as CloudWatch Logs would store them.
 */
export function prefixedOutput(target: NodeJS.WritableStream & { isTTY?: boolean }, { raw = false }: { raw?: boolean } = {}): Output {
  const color = Boolean(target.isTTY) && !process.env.NO_COLOR;
  const codes = new Map<string, number>();
  return {
    line(functionName, text) {
      let code = codes.get(functionName);
      if (code === undefined) {
        code = COLORS[codes.size % COLORS.length] ?? 36;
        codes.set(functionName, code);
      }
      const prefix = color ? `\u001b[${code}m[${functionName}]\u001b[0m` : `[${functionName}]`;
      const shown = raw ? text : readableLogLine(text);
      target.write(`${shown.split('\n').map((l) => `${prefix} ${l}`).join('\n')}\n`);
    },
  };
}
