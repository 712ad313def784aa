// A small live line chart on a <canvas>: a fixed window of points per series, redrawn when a
// sample arrives (about once a second). The canvas is decoration for sighted users; the same
// figures are in text beside it (the dashboard's tables), and the canvas carries a role="img"
// label saying what it shows.

import { h } from './dom.ts';

/** Colours of the series, in order; the legend's swatches use the same (style.css .sN). */
export const PALETTE = [
  '#d94841',
  '#2f6fdb',
  '#2a9d5b',
  '#b7791f',
  '#8a4fd0',
  '#0f8b8d',
  '#c2417a',
  '#5f6b7a',
];

export interface Series {
  name: string;
  points: number[];
}

export class LiveChart {
  readonly element: HTMLElement;
  readonly #canvas: HTMLCanvasElement;
  readonly #series = new Map<string, Series>();
  readonly #capacity: number;
  readonly #legend: HTMLUListElement;
  readonly #unit: string;

  constructor(title: string, unit: string, names: readonly string[], capacity = 120) {
    this.#capacity = capacity;
    this.#unit = unit;
    this.#canvas = h('canvas', {
      class: 'chart',
      attrs: { role: 'img', 'aria-label': `${title}, last ${capacity} seconds (${unit})` },
    });
    this.#legend = h('ul', { class: 'legend', attrs: { 'aria-hidden': 'true' } });
    for (const name of names) this.#ensure(name);
    this.element = h(
      'figure',
      { class: 'chart-box' },
      h('figcaption', null, title),
      this.#canvas,
      this.#legend,
    );
  }

  #ensure(name: string): Series {
    let s = this.#series.get(name);
    if (!s) {
      s = { name, points: [] };
      this.#series.set(name, s);
      const i = this.#series.size - 1;
      this.#legend.append(
        h('li', null, h('span', { class: `swatch s${i % PALETTE.length}` }), name),
      );
    }
    return s;
  }

  /** Adds one point to every named series (a series not named gets 0). */
  push(values: Record<string, number>): void {
    for (const name of Object.keys(values)) this.#ensure(name);
    for (const s of this.#series.values()) {
      s.points.push(values[s.name] ?? 0);
      if (s.points.length > this.#capacity) s.points.shift();
    }
    this.draw();
  }

  draw(): void {
    const canvas = this.#canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 160;
    if (
      canvas.width !== Math.round(width * ratio) ||
      canvas.height !== Math.round(height * ratio)
    ) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const all = [...this.#series.values()];
    const max = niceMax(Math.max(1, ...all.flatMap((s) => s.points)));
    const left = 44;
    const bottom = height - 18;
    const top = 8;
    const plotW = width - left - 8;
    const styles = getComputedStyle(canvas);
    ctx.font = `11px ${styles.fontFamily || 'sans-serif'}`;
    ctx.fillStyle = styles.color || '#444';
    ctx.strokeStyle = 'rgba(128,128,128,0.3)';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = bottom - ((bottom - top) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + plotW, y);
      ctx.stroke();
      ctx.fillText(shortNumber((max * i) / 4), 2, y + 4);
    }
    ctx.fillText(`${this.#unit}, last ${this.#capacity} s`, left, height - 4);
    all.forEach((s, i) => {
      if (s.points.length === 0) return;
      ctx.strokeStyle = PALETTE[i % PALETTE.length]!;
      ctx.lineWidth = 2;
      ctx.beginPath();
      const offset = this.#capacity - s.points.length;
      s.points.forEach((v, j) => {
        const x = left + (plotW * (offset + j)) / Math.max(1, this.#capacity - 1);
        const y = bottom - ((bottom - top) * v) / max;
        if (j === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
  }
}

function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function shortNumber(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  if (Number.isInteger(n) || n >= 10) return String(Math.round(n));
  return n < 1 ? n.toFixed(2) : n.toFixed(1);
}
