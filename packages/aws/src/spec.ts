import type { FunctionSpecInput } from '@laminar/spec';

/**
 * What a function that keeps its rejected records (keepRejectedRecords) declares: the bucket and
 * its own prefix, and a grant to create objects under that prefix only — not to read them, and
 * not anywhere another function writes (csv-validator's quarantine/ is its own). Pure data, so
 * specs can spread it without loading the SDK.
 */
export function rejectsSpec(options: { functionName: string }) {
  const prefix = `rejected/${options.functionName}/`;
  return {
    env: { REJECTS_BUCKET: { ref: { bucket: 'lake' } }, REJECTS_PREFIX: prefix },
    // PutObject with If-None-Match needs no other action: an existing object answers 412.
    permission: { actions: ['s3:PutObject'], resource: { bucket: 'lake', prefix: `${prefix}*` } },
  } as const satisfies { env: FunctionSpecInput['env']; permission: NonNullable<FunctionSpecInput['permissions']>[number] };
}
