/**
 * Orders strings by UTF-16 code unit, as `<` does. Everything generated from specs (Terraform JSON,
 * the graph, the cost page, layer zips) is sorted with it: `localeCompare` follows the machine's
 * locale, which Node takes from LANG, and under et_EE "zip" sorts before "tap" — the same sources
 * would then give different bytes on two machines.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
