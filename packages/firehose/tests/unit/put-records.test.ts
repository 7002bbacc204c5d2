import type { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { describe, expect, it } from 'vitest';
import { batchesOf, FIREHOSE_LIMITS, putRecords } from '../../src/put-records.ts';

/** A stub answering each call with a per-record verdict; it records what each call carried. */
function stubClient(verdict: (data: string, call: number) => string | undefined | 'throw', thrown = 'ResourceNotFoundException') {
  const calls: string[][] = [];
  const client = {
    send: async (command: PutRecordBatchCommand) => {
      const data = (command.input.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString());
      calls.push(data);
      const verdicts = data.map((d) => verdict(d, calls.length));
      if (verdicts.includes('throw')) throw Object.assign(new Error('service down'), { name: thrown });
      return {
        FailedPutCount: verdicts.filter(Boolean).length,
        RequestResponses: verdicts.map((v, i) => (v ? { ErrorCode: v, ErrorMessage: `no ${data[i]}` } : { RecordId: `id-${calls.length}-${i}` })),
      };
    },
  } as unknown as FirehoseClient;
  return { client, calls };
}
const records = (n: number, size = 10) => Array.from({ length: n }, (_, i) => Buffer.from(String(i).padEnd(size, '.')));
const noWait = async () => {};

describe('batchesOf', () => {
  it('fills calls up to 500 records and 4 MiB', () => {
    expect(batchesOf([...records(1201).keys()], records(1201)).map((b) => b.length)).toEqual([500, 500, 201]);
    const big = records(10, 1000 * 1024);
    expect(batchesOf([...big.keys()], big).map((b) => b.length)).toEqual([4, 4, 2]);
    for (const b of batchesOf([...big.keys()], big)) expect(b.length * 1000 * 1024).toBeLessThanOrEqual(FIREHOSE_LIMITS.bytesPerCall);
  });
});

describe('putRecords', () => {
  it('retries only the records a response reports failed, until they pass', async () => {
    const { client, calls } = stubClient((d, call) => (call <= 2 && Number.parseInt(d, 10) % 100 === 0 ? 'ServiceUnavailableException' : undefined));
    const result = await putRecords(records(1000), { client, deliveryStreamName: 's', sleep: noWait });
    expect(result).toMatchObject({ records: 1000, delivered: 1000, failed: [], calls: 3 });
    expect(calls[2]?.map((d) => Number.parseInt(d, 10))).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it('reports records that still fail after every attempt, with their reason; the rest are delivered', async () => {
    const { client, calls } = stubClient((d) => (d.startsWith('7') ? 'InternalFailure' : undefined));
    const result = await putRecords(records(10), { client, deliveryStreamName: 's', maxAttempts: 3, sleep: noWait });
    expect(result.delivered).toBe(9);
    expect(result.failed).toEqual([{ index: 7, errorCode: 'InternalFailure', errorMessage: 'no 7.........', attempts: 3 }]);
    expect(calls.length).toBe(3);
    expect(result.delivered + result.failed.length).toBe(result.records);
  });

  it('ends after maxAttempts however large, and refuses one it could not count to', async () => {
    const { client, calls } = stubClient(() => 'InternalFailure');
    const result = await putRecords(records(1), { client, deliveryStreamName: 's', maxAttempts: 300, sleep: noWait });
    expect(result.failed).toEqual([expect.objectContaining({ attempts: 300 })]);
    expect(calls).toHaveLength(300);
    for (const maxAttempts of [0, 1.5, 1_001]) {
      await expect(putRecords(records(1), { client, deliveryStreamName: 's', maxAttempts, sleep: noWait })).rejects.toThrow(RangeError);
    }
  });

  it('fails an oversized record up front and every record of a call that fails as a whole', async () => {
    const tooBig = Buffer.alloc(FIREHOSE_LIMITS.bytesPerRecord + 1, 'x');
    const { client } = stubClient(() => 'throw');
    const result = await putRecords([tooBig, ...records(600)], { client, deliveryStreamName: 's', sleep: noWait });
    expect(result.delivered).toBe(0);
    expect(result.failed).toHaveLength(601);
    expect(result.failed[0]).toMatchObject({ index: 0, errorCode: 'RecordTooLarge', attempts: 0 });
    expect(result.failed[1]).toMatchObject({ errorCode: 'ResourceNotFoundException', attempts: 1 });
    // The second call was never made: its records were never sent, not refused.
    expect(result.failed[600]).toMatchObject({ errorCode: 'NotSent', errorMessage: 'an earlier call failed (ResourceNotFoundException: service down)', attempts: 0 });
    expect(result.calls).toBe(1);
  });

  it('backs off and tries again when a whole call is throttled, until it passes', async () => {
    // Throttled as a whole for the first three calls, then accepted.
    const { client, calls } = stubClient((_d, call) => (call <= 3 ? 'throw' : undefined), 'ThrottlingException');
    const result = await putRecords(records(600), { client, deliveryStreamName: 's', maxAttempts: 5, sleep: noWait });
    expect(result).toMatchObject({ records: 600, delivered: 600, failed: [] });
    expect(calls.map((c) => c.length)).toEqual([500, 500, 500, 500, 100]);
  });

  it('returns what was delivered when stopped during a backoff, the rest failed with their last reason', async () => {
    const { client } = stubClient((d) => (d.startsWith('3') ? 'ServiceUnavailableException' : undefined));
    const stop = new AbortController();
    const result = await putRecords(records(10), {
      client,
      deliveryStreamName: 's',
      signal: stop.signal,
      sleep: async () => {
        stop.abort(new Error('the deadline'));
        throw stop.signal.reason;
      },
    });
    expect(result.delivered).toBe(9);
    expect(result.failed).toEqual([{ index: 3, errorCode: 'ServiceUnavailableException', errorMessage: 'no 3.........', attempts: 1 }]);
  });

  it('a call cut short by the stop leaves its records in doubt and the ones after it not sent, with the stop’s reason, not the SDK’s "Request aborted"', async () => {
    const stop = new AbortController();
    let call = 0;
    const client = {
      send: async (command: PutRecordBatchCommand, options: { abortSignal: AbortSignal }) => {
        if (++call === 1) return { FailedPutCount: 0, RequestResponses: (command.input.Records ?? []).map((_r, i) => ({ RecordId: `id-${i}` })) };
        // As the SDK does: the request in flight rejects with its own AbortError.
        stop.abort(new Error('stopped before the function timeout; 900 ms left'));
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError', signal: options.abortSignal });
      },
    } as unknown as FirehoseClient;
    const result = await putRecords(records(1_200), { client, deliveryStreamName: 's', signal: stop.signal, sleep: noWait });
    expect(result.delivered).toBe(500);
    expect(result.failed).toHaveLength(700);
    // The call under way may have reached Firehose: in doubt, not failed; the rest were never sent.
    expect(result.failed[0]).toEqual({
      index: 500,
      errorCode: 'InDoubt',
      errorMessage: 'its call was under way when the run stopped (stopped before the function timeout; 900 ms left): Firehose may have taken it',
      attempts: 1,
      mayHaveArrived: true,
    });
    expect(result.failed[699]).toEqual({ index: 1_199, errorCode: 'NotSent', errorMessage: 'stopped before the function timeout; 900 ms left', attempts: 0 });
    expect(result.failed.every((f) => (f.index < 1_000 ? f.errorCode === 'InDoubt' && f.attempts === 1 : f.errorCode === 'NotSent' && f.attempts === 0))).toBe(true);
  });

  it('remembers a call that got no response: a record refused by a later call may still have arrived, and one delivered by it may be there twice', async () => {
    // Call 1 times out (no response at all); call 2 refuses record 3 and takes the others.
    const { client, calls } = stubClient((d, call) => (call === 1 ? 'throw' : d.startsWith('3') ? 'InternalFailure' : undefined), 'TimeoutError');
    const result = await putRecords(records(5), { client, deliveryStreamName: 's', maxAttempts: 2, sleep: noWait });
    expect(calls).toHaveLength(2);
    expect(result.delivered).toBe(4);
    expect(result.possibleDuplicates).toBe(4);
    expect(result.failed).toEqual([{ index: 3, errorCode: 'InternalFailure', errorMessage: 'no 3.........', attempts: 2, mayHaveArrived: true }]);
  });

  it('does not count a call that never connected (refused, connect timed out) as one Firehose may have taken', async () => {
    let call = 0;
    const client = {
      send: async (command: PutRecordBatchCommand) => {
        call++;
        if (call === 1) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
        if (call === 2) {
          throw Object.assign(new Error('@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.'), {
            name: 'TimeoutError',
          });
        }
        if (call === 3) throw Object.assign(new Error('connect EHOSTUNREACH 10.0.0.1:443'), { code: 'EHOSTUNREACH' });
        return { FailedPutCount: 0, RequestResponses: (command.input.Records ?? []).map((_r, i) => ({ RecordId: `id-${i}` })) };
      },
    } as unknown as FirehoseClient;
    const result = await putRecords(records(3), { client, deliveryStreamName: 's', sleep: noWait });
    expect(result).toMatchObject({ delivered: 3, possibleDuplicates: 0, failed: [], calls: 4 });
    // Refused every time: failed with the refusal, not in doubt.
    let refused = 0;
    const down = { send: async () => { refused++; throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }); } } as unknown as FirehoseClient;
    const failed = await putRecords(records(1), { client: down, deliveryStreamName: 's', maxAttempts: 2, sleep: noWait });
    expect(refused).toBe(2);
    // Named by its code: every network error is an "Error".
    expect(failed.failed).toEqual([{ index: 0, errorCode: 'ECONNREFUSED', errorMessage: 'connect ECONNREFUSED 10.0.0.1:443', attempts: 2 }]);
  });

  it('counts no possible duplicates when every call was answered', async () => {
    const { client } = stubClient((d, call) => (call === 1 && d.startsWith('1') ? 'InternalFailure' : undefined));
    const result = await putRecords(records(5), { client, deliveryStreamName: 's', sleep: noWait });
    expect(result).toMatchObject({ delivered: 5, possibleDuplicates: 0, failed: [] });
  });
});
