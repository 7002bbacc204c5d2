/**
 * Feed dates → a UTC instant. Feeds use RFC 822 (RSS 2.0, often bent) and W3C-DTF/ISO 8601
 * (Atom, dc:date), and mix them up. Date.parse is not used as a fallback: it reads a date without
 * a zone in the machine's local time, so the same feed would give different instants on
 * different machines.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

// RFC 822 zones, plus zone names feeds use although RFC 822 does not define them. Any other name
// makes the date unreadable: RFC 2822 §4.3 would read it as UTC, but feeds that write IST or SGT
// mean India or Singapore, and a date hours off is worse than none. (RFC 822's military letters
// other than Z were defined with the wrong sign, so they say nothing either.)
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
  akst: -540,
  akdt: -480,
  hst: -600,
  bst: 60,
  wet: 0,
  west: 60,
  cet: 60,
  cest: 120,
  met: 60,
  mest: 120,
  eet: 120,
  eest: 180,
  msk: 180,
  jst: 540,
  kst: 540,
  aest: 600,
  aedt: 660,
  nzst: 720,
  nzdt: 780,
};

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T\s](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?$/i;
// A numeric zone may be followed by the zone's name as a comment: "-0400 (EDT)".
const RFC822 =
  /^(?:[a-z]{2,9}\.?,?\s*)?(\d{1,2})[\s-]+([a-z]{3,9})\.?[\s-]+(\d{2}|\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:([+-]\d{2}:?\d{2})(?:\s*\([a-z]{1,5}\))?|\(?([a-z]{1,5})\)?)?$/i;

/** Minutes east of UTC; null for a zone name not in ZONES. */
function offsetMinutes(zone: string | undefined): number | null {
  if (!zone) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (m) return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
  return ZONES[zone.toLowerCase()] ?? null;
}

function build(year: number, month: number, day: number, h: number, min: number, s: number, ms: number, offset: number): Date | null {
  if (month < 1 || month > 12 || day < 1 || day > 31 || min > 59 || s > 60) return null;
  if (h > 24 || (h === 24 && (min > 0 || s > 0 || ms > 0))) return null;
  // A leap second is read as the next second; 24:00 as the next day's midnight.
  const utc = Date.UTC(year, month - 1, day, h, min, Math.min(s, 59), ms) + (s === 60 ? 1000 : 0) - offset * 60_000;
  // Date.UTC rolls 31 April over into May: refuse dates that do not exist.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  if (year < 1970 || year > 2200) return null;
  return new Date(utc);
}

/**
 * Parses RFC 822/1123/2822 dates (day name optional, 2-digit years, seconds optional, numeric or
 * known named zones) and ISO 8601 / W3C-DTF ("2024-05-06", "2024-05-06T10:00:00.123+02:00", with or
 * without a zone). A missing zone means UTC. Anything else is null: no date is better than a
 * guessed one.
 */
export function parseFeedDate(raw: string | undefined | null): Date | null {
  const s = raw?.trim();
  if (!s) return null;
  const iso = ISO.exec(s);
  if (iso) {
    const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '0', zone] = iso;
    const ms = Math.round(Number(`0.${frac}`) * 1000);
    const offset = offsetMinutes(zone);
    if (offset === null) return null;
    return build(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec), Math.min(ms, 999), offset);
  }
  const rfc = RFC822.exec(s);
  if (rfc) {
    const [, d, monthName, y, h, mi, sec = '0', numericZone, namedZone] = rfc;
    const month = MONTHS.indexOf((monthName as string).slice(0, 3).toLowerCase()) + 1;
    if (month === 0) return null;
    let year = Number(y);
    // RFC 2822 §4.3: two-digit years 00–49 are 20xx, 50–99 are 19xx.
    if ((y as string).length === 2) year += year < 50 ? 2000 : 1900;
    const offset = offsetMinutes(numericZone ?? namedZone);
    if (offset === null) return null;
    return build(year, month, Number(d), Number(h), Number(mi), Number(sec), 0, offset);
  }
  return null;
}
