/** What the sections of the `--chart` SVG share: the page's geometry, the time scale, escaping. */

export const WIDTH = 960;
/** Labels left of the plots; every plot starts here and spans PLOT_WIDTH. */
export const PLOT_LEFT = 180;
export const PLOT_WIDTH = WIDTH - PLOT_LEFT - 24;

/** The x of a time (s) on an axis of `span` seconds, as SVG text. */
export function xOf(time: number, span: number): string {
  return (PLOT_LEFT + (time / Math.max(span, 1e-3)) * PLOT_WIDTH).toFixed(1);
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
