import type { FirehoseEmulator } from '@laminar/emulators';

/**
 * Makes the Firehose emulator refuse every record of one store, on every attempt, and collects
 * the record_ids it refused: a failure that retrying cannot get past.
 */
export function refuseStore(firehose: FirehoseEmulator | undefined, storeId: string): Set<string> {
  const refused = new Set<string>();
  firehose?.injectFailures((_stream, record) => {
    const text = record.toString();
    if (!text.includes(`"store_id":"${storeId}"`)) return undefined;
    refused.add(JSON.parse(text).record_id);
    return { code: 'InternalFailure', message: 'broken' };
  });
  return refused;
}
