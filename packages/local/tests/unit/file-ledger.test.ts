import { describe, expect, it } from 'vitest';
import type { AsyncOutcome } from '../../src/async.ts';
import { fileLedger } from '../../src/scenarios/bronze-silver.ts';

/** A first delivery's outcome: its status, where it went, and the validator's result. */
function outcome(status: AsyncOutcome['status'], result?: unknown, toDlq = false): AsyncOutcome {
  return {
    requestId: 'r',
    functionName: 'csv-validator',
    event: {},
    status,
    attempts: [{ result } as AsyncOutcome['attempts'][number]],
    ...(toDlq ? { destination: { queue: 'laminar-local-csv-validator-dlq', messageId: 'm', condition: 'RetriesExhausted' as const } } : {}),
  };
}
const file = (status: string) => ({ objects: [{ status }] });

describe('the bronze-silver file ledger', () => {
  it('puts every file in exactly one place and counts those in the DLQ', () => {
    const ledger = fileLedger([
      outcome('succeeded', file('validated')),
      outcome('succeeded', file('validated')),
      outcome('succeeded', file('rejected')),
      outcome('succeeded', file('skipped')),
      outcome('failed', undefined, true),
    ]);
    expect(ledger).toEqual({ parts: ['2 validated', '1 quarantined whole', '1 skipped (gone before it was read)', '1 in the DLQ'], accounted: 5, toDlq: 1, nowhere: 0 });
  });

  it('says what is unaccounted for: a failure with no destination, a result with no file outcome, a file never delivered', () => {
    const ledger = fileLedger([outcome('failed'), outcome('succeeded', { nothing: true }), undefined, outcome('succeeded', file('validated'))]);
    expect(ledger).toEqual({ parts: ['1 validated', '3 unaccounted for'], accounted: 1, toDlq: 0, nowhere: 3 });
  });
});
