// The SVG bar chart of a bench:compare run (docs/bench/compare.svg): one panel of targets (measured ratio
// divided by its target, on a log scale, so 1 is the line to reach) and one of the raw figures per second.
// Plain SVG text, no dependency.

export interface ChartRow {
  label: string;
  ratio: number;
  target: number;
  pass: boolean;
}

export interface ChartFigure {
  label: string;
  perSecond: number;
  kind: 'http' | 'ceiling';
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const times = (x: number) => (x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);
const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

const WIDTH = 1080;
const LABEL_W = 380;
const BAR_X = LABEL_W + 10;
const BAR_W = 420;
const ROW_H = 24;

/** x position of `value` on a log scale from `min` to `max` across the bar area. */
function logX(value: number, min: number, max: number): number {
  const v = Math.min(max, Math.max(min, value));
  return BAR_X + (BAR_W * (Math.log10(v) - Math.log10(min))) / (Math.log10(max) - Math.log10(min));
}

export function renderChart(input: { title: string; subtitle: string; rows: ChartRow[]; figures: ChartFigure[] }): string {
  const parts: string[] = [];
  let y = 28;
  parts.push(`<text x="16" y="${y}" class="title">${escape(input.title)}</text>`);
  y += 20;
  parts.push(`<text x="16" y="${y}" class="sub">${escape(input.subtitle)}</text>`);
  y += 22;

  // Panel 1: ratio ÷ target, 0.1 to 10.
  const [min, max] = [0.1, 10];
  const panelTop = y;
  for (const tick of [0.1, 0.2, 0.5, 1, 2, 5, 10]) {
    const x = logX(tick, min, max);
    parts.push(`<line x1="${x}" y1="${panelTop}" x2="${x}" y2="${panelTop + input.rows.length * ROW_H}" class="${tick === 1 ? 'goal' : 'grid'}"/>`);
    parts.push(`<text x="${x}" y="${panelTop + input.rows.length * ROW_H + 14}" class="tick">${tick}</text>`);
  }
  for (const row of input.rows) {
    const share = row.ratio / row.target;
    const end = logX(Number.isFinite(share) ? share : min, min, max);
    parts.push(`<text x="${LABEL_W}" y="${y + 16}" class="label">${escape(row.label)}</text>`);
    parts.push(`<rect x="${BAR_X}" y="${y + 4}" width="${Math.max(1, end - BAR_X).toFixed(1)}" height="${ROW_H - 8}" class="${row.pass ? 'pass' : 'miss'}"/>`);
    parts.push(`<text x="${BAR_X + BAR_W + 8}" y="${y + 16}" class="value">${times(row.ratio)} (target ≥ ${times(row.target)}) ${row.pass ? 'PASS' : 'MISS'}</text>`);
    y += ROW_H;
  }
  y += 40;

  // Panel 2: figures per second, 1 to 100,000.
  parts.push(`<text x="16" y="${y}" class="title">Figures from the same run, per second (log scale)</text>`);
  y += 12;
  const [fmin, fmax] = [1, 100_000];
  const figTop = y;
  for (const tick of [1, 10, 100, 1_000, 10_000, 100_000]) {
    const x = logX(tick, fmin, fmax);
    parts.push(`<line x1="${x}" y1="${figTop}" x2="${x}" y2="${figTop + input.figures.length * ROW_H}" class="grid"/>`);
    parts.push(`<text x="${x}" y="${figTop + input.figures.length * ROW_H + 14}" class="tick">${tick.toLocaleString('en-US')}</text>`);
  }
  for (const figure of input.figures) {
    const end = logX(Math.max(fmin, figure.perSecond), fmin, fmax);
    parts.push(`<text x="${LABEL_W}" y="${y + 16}" class="label">${escape(figure.kind === 'ceiling' ? `ceiling: ${figure.label}` : figure.label)}</text>`);
    parts.push(`<rect x="${BAR_X}" y="${y + 4}" width="${Math.max(1, end - BAR_X).toFixed(1)}" height="${ROW_H - 8}" class="${figure.kind}"/>`);
    parts.push(`<text x="${BAR_X + BAR_W + 8}" y="${y + 16}" class="value">${rate(figure.perSecond)}/s</text>`);
    y += ROW_H;
  }
  y += 30;

  const style = [
    'text{font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:12px;fill:#222}',
    '.title{font-size:15px;font-weight:600}',
    '.sub{font-size:11px;fill:#555}',
    '.label{text-anchor:end}',
    '.tick{font-size:10px;fill:#666;text-anchor:middle}',
    '.value{font-variant-numeric:tabular-nums}',
    '.grid{stroke:#ddd;stroke-width:1}',
    '.goal{stroke:#222;stroke-width:1.5;stroke-dasharray:4 3}',
    '.pass{fill:#2e8b57}',
    '.miss{fill:#d9534f}',
    '.http{fill:#4a7bd0}',
    '.ceiling{fill:#a0a0a0}',
  ].join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" role="img" aria-label="${escape(input.title)}">`,
    `<style>${style}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
