const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The first key that appears twice in one object of `json`, or undefined.
 *
 * JSON.parse keeps the last of duplicate keys, so the envelope check passes on a value whose archived
 * text a reader keeping the first (or refusing duplicates) sees as another value. Nothing in this
 * function's dependencies reports duplicates (zod only sees the parsed value, where they are gone),
 * so this is the smallest scan that does. It relies on `json` being valid JSON (JSON.parse accepted
 * it): then a string is a key exactly when it follows an object's `{` or `,`, and no tokenizer is
 * needed. It keeps its own stack, so nesting as deep as JSON.parse accepts cannot overflow the call
 * stack, and skips string contents with indexOf, so its cost is mostly the keys it compares.
 */
export function duplicateKey(json: string): string | undefined {
  // Per open object its keys so far, per open array null.
  const open: (Set<string> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(json, i);
      if (keyNext) {
        const raw = json.slice(i + 1, end);
        // Decoded, so that "id" and "\u0069d" are the same key, as they are to any reader.
        const key = raw.includes('\\') ? (JSON.parse(json.slice(i, end + 1)) as string) : raw;
        const keys = open[open.length - 1] as Set<string>;
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
      i = end;
    } else if (c === OPEN_BRACE) {
      open.push(new Set());
      keyNext = true;
    } else if (c === OPEN_BRACKET) {
      open.push(null);
      keyNext = false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      open.pop();
      keyNext = false;
    } else if (c === COMMA) {
      keyNext = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

/** The index of the quote closing the string that opens at `from`: the first one not escaped. */
function closingQuote(json: string, from: number): number {
  let end = json.indexOf('"', from + 1);
  for (;;) {
    // Unterminated: not JSON (the caller's promise broken); the scan ends rather than loop.
    if (end === -1) return json.length;
    // Escaped only by an odd run of backslashes: in "a\\" the quote closes the string.
    let backslashes = 0;
    while (json.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = json.indexOf('"', end + 1);
  }
}
