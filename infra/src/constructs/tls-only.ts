/**
 * The statement that refuses `action` on `resource` to every request not made over TLS — a resource
 * policy's part of "encrypted in transit": buckets (s3:*), queues (sqs:*) and the alarm topic
 * (sns:Publish) carry it; the policy suite checks each has it (s3-tls-only, sqs-tls-only, sns-tls-only).
 */
export function denyInsecureTransport(action: string, resource: string | string[]) {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: action,
    Resource: resource,
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}
