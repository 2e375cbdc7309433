// A horizontal bar chart of ratios to node:http, written as plain SVG (no chart library), small
// enough to embed in a README.

const WIDTH = 720
const LEFT = 200 // the peer names
const BAR_AREA = 360
const ROW = 28
const BAR = 18
const TOP = 62
const COLORS = { gatehouse: '#e8590c', baseline: '#868e96', other: '#4263eb', missing: '#adb5bd' }

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

/** A tick step that gives 2 to 6 gridlines up to `max`. */
function tickStep(max) {
  for (const step of [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100]) if (max / step <= 6) return step
  return Math.ceil(max / 5)
}

function shorten(text, max) {
  return text.length <= max ? text : text.slice(0, max - 1) + '…'
}

/**
 * rows: [{ label, ratio (number or undefined), detail (the absolute figure, small), note (shown
 *   instead of a bar), kind: 'gatehouse' | 'baseline' | 'other' }]
 * title, subtitle, footer: strings.
 */
export function barChart({ title, subtitle, footer, rows }) {
  const ratios = rows.map((r) => r.ratio).filter((r) => Number.isFinite(r))
  const step = tickStep(Math.max(1, ...ratios) * 1.08)
  const axisMax = Math.ceil((Math.max(1, ...ratios) * 1.08) / step) * step
  const x = (ratio) => LEFT + (ratio / axisMax) * BAR_AREA
  const height = TOP + rows.length * ROW + 44
  const out = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="13">`)
  out.push(`<title>${esc(title)}: ${esc(subtitle)}</title>`)
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="16" y="24" font-size="15" font-weight="600" fill="#212529">${esc(title)}</text>`)
  out.push(`<text x="16" y="44" fill="#495057">${esc(subtitle)}</text>`)
  const bottom = TOP + rows.length * ROW
  for (let t = 0; t <= axisMax + 1e-9; t += step) {
    const gx = x(t).toFixed(1)
    out.push(`<line x1="${gx}" y1="${TOP - 4}" x2="${gx}" y2="${bottom}" stroke="#e9ecef"/>`)
    out.push(`<text x="${gx}" y="${bottom + 16}" text-anchor="middle" fill="#868e96" font-size="11">${esc(`${+t.toFixed(2)}×`)}</text>`)
  }
  const one = x(1).toFixed(1)
  out.push(`<line x1="${one}" y1="${TOP - 4}" x2="${one}" y2="${bottom}" stroke="#495057" stroke-dasharray="4 3"/>`)
  rows.forEach((row, i) => {
    const y = TOP + i * ROW
    const mid = y + ROW / 2 + 4
    out.push(`<text x="${LEFT - 10}" y="${mid}" text-anchor="end" fill="#212529">${esc(row.label)}</text>`)
    if (Number.isFinite(row.ratio)) {
      const w = Math.max(1, x(row.ratio) - LEFT).toFixed(1)
      out.push(`<rect x="${LEFT}" y="${y + (ROW - BAR) / 2}" width="${w}" height="${BAR}" rx="2" fill="${COLORS[row.kind] ?? COLORS.other}"/>`)
      const detail = row.detail ? `<tspan dx="8" fill="#868e96" font-weight="400">${esc(row.detail)}</tspan>` : ''
      out.push(`<text x="${(LEFT + Number(w) + 6).toFixed(1)}" y="${mid}" fill="#212529" font-weight="600" stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(`${row.ratio.toFixed(2)}×`)}${detail}</text>`)
    } else {
      const note = shorten(row.note ?? 'not measured', 70)
      // A white ground under the note, so that the gridlines do not run through it.
      out.push(`<rect x="${LEFT + 1}" y="${y + 5}" width="${Math.min(note.length * 7 + 8, WIDTH - LEFT - 8)}" height="${ROW - 10}" fill="#ffffff"/>`)
      out.push(`<text x="${LEFT + 4}" y="${mid}" fill="${COLORS.missing}" font-style="italic">${esc(note)}</text>`)
    }
  })
  out.push(`<text x="16" y="${height - 10}" fill="#868e96" font-size="11">${esc(footer)}</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
