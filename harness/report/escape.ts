/**
 * Escaping for the two places data enters the page (HTML text and JSON script blocks), and the
 * number and name formatting every section and chart uses.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` become \u escapes, so
 * no string in the data can close the block or open a comment; JSON.parse restores them.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A kernel name without the tokens every variant shares; the packed config suffix dropped. */
export function shortKernel(name: string): string {
  return name
    .replace(/^qs8_/, '')
    .replace(/^splitconv_minmax_/, 'splitconv ')
    .replace(/^dsppack_minmax_/, 'dsppack ')
    .replace(/__/, ' ')
    .replace(/ \([^)]*L=\d+[^)]*\)$/, '')
    .replace(/^onnxruntime-web QLinearConv/, 'ORT QLinearConv');
}

/** At most n characters; a cut string ends in an ellipsis. */
export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** A number with en-US digit grouping and exactly `digits` decimals; missing or not finite: a dash. */
export function fmt(x: number | undefined | null, digits = 0): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A number with about 3 significant digits. */
export function sig(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return fmt(x, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

/** An escaped identifier with line-break opportunities after underscores. */
export function wrapName(name: string): string {
  return escapeHtml(name).replace(/_/g, '_<wbr>');
}
