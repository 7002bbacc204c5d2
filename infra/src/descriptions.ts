/** CloudWatch's limit on an alarm's description, which the spec's metricAlarms are checked against too. */
export { ALARM_DESCRIPTION_BYTES } from '@laminar/spec';

/** EventBridge's limit on a rule's description (PutRule Description: 512 characters). */
export const RULE_DESCRIPTION_BYTES = 512;

const ELLIPSIS = '…';

/**
 * `text` as it is when it fits in `maxBytes` of UTF-8, else cut at a character and ended with "…".
 * Descriptions that quote a spec's S3 prefix (up to 1,024 characters) would otherwise pass synth
 * and be refused by plan or apply. Bytes, because the provider's length checks count a string's
 * bytes where AWS counts its characters: what fits the one fits the other.
 */
export function fitDescription(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let room = maxBytes - Buffer.byteLength(ELLIPSIS);
  let kept = '';
  // By code point, so that no character is cut in half (a surrogate pair, a multi-byte sequence).
  for (const char of text) {
    const bytes = Buffer.byteLength(char);
    if (bytes > room) break;
    kept += char;
    room -= bytes;
  }
  return `${kept}${ELLIPSIS}`;
}

/**
 * `build(quoted)`, with `quoted` cut short (with "…") so that the whole fits in `maxBytes`: the
 * words around a long quote stay whole, so the description still says what happened.
 */
export function fitQuoting(maxBytes: number, quoted: string, build: (quoted: string) => string): string {
  const around = Buffer.byteLength(build(''));
  return fitDescription(build(fitDescription(quoted, Math.max(0, maxBytes - around))), maxBytes);
}
