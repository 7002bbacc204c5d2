import { describe, expect, it } from 'vitest';
import { bucketsOf, defineFunction, resolveEnv, SpecError, writesTo } from '../../src/index.ts';

const base = {
  name: 'demo',
  memoryMb: 256,
  timeoutS: 30,
  triggers: [{ kind: 'invoke' as const }],
};

describe('defineFunction', () => {
  it('applies defaults', () => {
    const spec = defineFunction(base);
    expect(spec).toMatchObject({ entry: './src/handler.ts', handler: 'handler', architecture: 'arm64', runtime: 'nodejs20.x', env: {}, layers: [] });
  });

  it('refuses secret-looking env vars and names the variable', () => {
    expect(() => defineFunction({ ...base, env: { KAFKA_API_SECRET: 'x' } })).toThrow(/env\.KAFKA_API_SECRET: .*secret material/);
  });

  it('refuses Lambda-reserved env vars', () => {
    expect(() => defineFunction({ ...base, env: { AWS_REGION: 'eu-west-1' } })).toThrow(SpecError);
  });

  it('refuses wildcard actions and out-of-range limits', () => {
    expect(() => defineFunction({ ...base, permissions: [{ actions: ['s3:*'], resource: { bucket: 'documents' } }] })).toThrow(/no wildcards/);
    expect(() => defineFunction({ ...base, timeoutS: 901 })).toThrow(/timeoutS/);
    expect(() => defineFunction({ ...base, memoryMb: 64 })).toThrow(/memoryMb/);
  });

  it('derives buckets, write access and resolved env', () => {
    const spec = defineFunction({
      ...base,
      env: { B: { ref: { bucket: 'documents' } }, A: 'plain' },
      permissions: [
        { actions: ['s3:ListBucket'], resource: { bucket: 'documents' } },
        { actions: ['s3:GetObject'], resource: { bucket: 'archive', prefix: '*' } },
        { actions: ['s3:PutObject'], resource: { bucket: 'documents', prefix: 'out/*' } },
      ],
    });
    expect(bucketsOf(spec)).toEqual(['archive', 'documents']);
    expect(writesTo(spec, 'documents')).toBe(true);
    expect(writesTo(spec, 'archive')).toBe(false);
    expect(resolveEnv(spec, (b) => `laminar-dev-${b}`)).toEqual({ NODE_OPTIONS: '--enable-source-maps', A: 'plain', B: 'laminar-dev-documents' });
  });
});
