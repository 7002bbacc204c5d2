import { S3Client } from '@aws-sdk/client-s3';
import { envEndpointUrl } from '@laminar/runtime';
import { z } from 'zod';
import { sdkHttpHandler } from './http-handler.ts';

/** The part of a function's environment that says how to reach S3. */
export const s3EnvSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** The SDK's own name for a per-service endpoint: the runner sets it, AWS leaves it unset. */
  AWS_ENDPOINT_URL_S3: envEndpointUrl.optional(),
  /** The SDK's endpoint for every service, which it honours too when the per-service one is unset. */
  AWS_ENDPOINT_URL: envEndpointUrl.optional(),
  /** Unset: path style exactly when an endpoint is set. */
  LAMINAR_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
});
export type S3Env = z.output<typeof s3EnvSchema>;

/** A key prefix that names a folder a function writes under: ends with "/", never starts with one. */
export const s3FolderPrefix = z
  .string()
  .max(512)
  .refine((p) => p !== '' && p.endsWith('/') && !p.startsWith('/'), 'must end with "/" and not start with "/"');

export interface S3ClientOptions {
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean;
  /** Static credentials; `expiration` when they are temporary (the presigner caps URL lifetimes at it). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
  maxSockets?: number;
}

export function s3OptionsFromEnv(env: S3Env): S3ClientOptions {
  // Named here rather than left to the SDK, so that a custom endpoint also gets path style and
  // only required checksums (createS3Client), whichever variable named it.
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    region: env.AWS_REGION,
    endpoint,
    // Said outright, it wins (false: an endpoint that serves virtual-hosted buckets); else path
    // style for a custom endpoint (emulators), virtual-hosted on AWS.
    forcePathStyle: env.LAMINAR_S3_FORCE_PATH_STYLE !== undefined ? env.LAMINAR_S3_FORCE_PATH_STYLE === 'true' : endpoint !== undefined,
  };
}

const S3_REQUEST_TIMEOUT_MS = 30_000;
/** The upload rate a request's timeout allows for its body (256 KiB/s). */
const SLOWEST_UPLOAD_BYTES_PER_MS = 256;

/**
 * The request timeout for a call that uploads `bytes` in one request (`client.send(command, {
 * requestTimeout })`): the client's 30 s, or more for a body that needs longer at 256 KiB/s —
 * 64 MB in one PutObject gets ~4.3 minutes.
 */
export function uploadRequestTimeoutMs(bytes: number): number {
  return Math.max(S3_REQUEST_TIMEOUT_MS, Math.ceil(bytes / SLOWEST_UPLOAD_BYTES_PER_MS));
}

/**
 * One S3 client per execution environment. Keep-alive sockets are reused by warm invocations.
 * Checksums: against AWS the SDK's default CRC32 protects uploads; against a custom endpoint
 * (emulators) only required checksums are sent, because s3rver stores streamed uploads that
 * carry checksum trailers corrupted.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const maxSockets = options.maxSockets ?? 64;
  const custom = options.endpoint !== undefined;
  return new S3Client({
    region: options.region,
    ...(custom ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    responseChecksumValidation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    maxAttempts: 4,
    // Up to a part's response, its upload included: a 5 MiB part needs ~175 KB/s to make it. A
    // larger body sets its own (uploadRequestTimeoutMs, as MultipartWriter does; lib-storage, under
    // uploadStream, cannot).
    requestHandler: sdkHttpHandler({ connectionTimeoutMs: 3_000, requestTimeoutMs: S3_REQUEST_TIMEOUT_MS, maxSockets }),
  });
}
