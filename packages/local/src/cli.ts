import { text } from 'node:stream/consumers';
import { parseCli, USAGE } from './args.ts';
import { describeFailure, runCommand } from './commands.ts';

const cleanups: (() => Promise<void>)[] = [];
let interrupt: () => void = () => {};
const interrupted = new Promise<void>((resolve) => {
  interrupt = resolve;
});
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signals++;
    interrupt();
    // A second Ctrl-C means now.
    if (signals > 1) process.exit(130);
    if (!keeping) void Promise.allSettled(cleanups.map((c) => c())).then(() => process.exit(130));
  });
}
let keeping = false;

async function main(): Promise<number> {
  try {
    const cmd = parseCli(process.argv.slice(2));
    if (cmd.command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    // dev handles the signal itself, --once too: it keeps what the stop cut short in the DLQs,
    // prints its summary and exits 1 (a second Ctrl-C exits at once).
    keeping = cmd.command === 'dev';
    return await runCommand(cmd, {
      stdout: process.stdout,
      stderr: process.stderr,
      // ./run's folder of origin, else pnpm's (INIT_CWD), else our own.
      cwd: process.env.LAMINAR_CWD ?? process.env.INIT_CWD ?? process.cwd(),
      env: process.env,
      interrupted,
      onInterrupt: (c) => cleanups.push(c),
      readStdin: () => text(process.stdin),
    });
  } catch (err) {
    const { message, code } = describeFailure(err);
    process.stderr.write(`laminar: ${message}\n`);
    return code;
  }
}

// Exit explicitly: keep-alive sockets of the S3 client must not hold the process open.
process.exit(await main());
