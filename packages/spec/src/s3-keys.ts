/**
 * Keys arrive form-encoded (application/x-www-form-urlencoded): a space as '+', a literal '+' as
 * %2B, anything else outside the unreserved set as %XX of its UTF-8 bytes. So '+' must become a
 * space before percent-decoding, never after.
 *
 * Classic notifications: AWS documents it ("the object key name value is URL encoded. For example,
 * 'red flower.jpg' becomes 'red+flower.jpg'",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
 * EventBridge: AWS's page on the message structure
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html, "Event message detail
 * field") says nothing about encoding and its examples use a plain "example-key". AWS's own
 * Powertools for Lambda (Python) decodes `detail.object.key` with `unquote_plus`
 * (S3EventBridgeNotificationObject.key), exactly as for classic records, and OpenSearch Data
 * Prepper's S3EventBridgeNotification decodes it with SdkHttpUtils.urlDecode. So both sources are
 * decoded alike here. An emulator that sends raw EventBridge keys (moto does) must encode them as
 * S3 does. Confirm once against a real bucket with a key like "a b+c%.csv": if EventBridge ever
 * sent raw keys, keys holding '+' or '%' would decode wrongly.
 */
export function decodeS3EventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * The inverse of {@link decodeS3EventKey}, for emitting events as S3 does (runner, tests) and for
 * rule patterns that must match keys as events carry them (naming.ts): bytes
 * outside [A-Za-z0-9.-_*] as %XX, a space as '+', the delimiter '/' kept so prefix filters match.
 */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+');
}
