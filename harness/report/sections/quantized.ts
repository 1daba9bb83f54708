/** A quantized detector against float: SQNR per output, the same decision, codes the packed-DSP kernels change. */
import { type ReportData } from '../../results/index.ts';
import { escapeHtml, fmt } from '../escape.ts';
import { note, table } from './parts.ts';

export function quantizedSection(data: ReportData): string {
  const q = data.quantized;
  if (!q) return note('Not available in this run: no quantized model without labels (fkb quantize) was measured.');
  const backends = Object.keys(q.outputs[0]?.byBackend ?? {}) as (keyof (typeof q.outputs)[number]['byBackend'])[];
  // JSON has no Infinity: an SQNR of null means float and integer outputs are equal.
  const db = (x: number | null | undefined): string => (x === null ? 'exact' : `${fmt(x, 2)} dB`);
  const parts = [
    `<p>${escapeHtml(q.model)}: int8 weights and activations (${escapeHtml(q.observer)} calibration on ${q.calibrationInputs} inputs), ` +
      `${fmt(q.macs / 1e6, 1)} M MACs, run on the integer WASM kernels and compared with float on ${q.measuredInputs} other inputs.</p>`,
    table(q.outputs, [
      { head: 'output', cell: (o) => o.name },
      { head: 'values', cell: (o) => fmt(o.values), num: true },
      ...backends.map((b) => ({ head: `SQNR ${b}`, cell: (o: (typeof q.outputs)[number]) => db(o.byBackend[b]?.sqnrDb), num: true })),
      { head: 'same argmax', cell: (o) => `${o.byBackend[backends[0]!]?.argmaxAgree} of ${q.measuredInputs}`, num: true },
    ], 'SQNR = 10 log10(sum f^2 / sum (f - q)^2) over every value of the measured inputs, f float, q the dequantized integer output.'),
  ];
  if (q.scores) {
    const s = q.scores;
    const p = 1 / (1 + Math.exp(-s.threshold));
    parts.push(
      `<p>Detection (${s.outputs.map(escapeHtml).join(' + ')}, score above ${fmt(p, 2)}): float finds ${s.floatPositives} of ${q.measuredInputs} inputs positive; ` +
        backends.map((b) => { const x = s.byBackend[b]!; return `${escapeHtml(b)}: the same decision on ${x.decisionAgree}, the same best anchor on ${x.bestAgree}`; }).join('; ') + '.</p>',
    );
  }
  const others = backends.filter((b) => b !== q.comparedWith);
  if (others.length) {
    parts.push(
      `<p>Output codes differing from the ${escapeHtml(q.comparedWith)} kernels${q.comparedWith === 'wasm' ? ' (bit-exact to the reference, as the tests prove)' : ''}: ` +
        `${others.map((b) => `${escapeHtml(b)} ${q.differingFromReference[b]} of ${fmt(q.outputCodes)}`).join(', ')}.</p>`,
    );
  }
  return parts.join('\n');
}
