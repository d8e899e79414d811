// Renders one key's ops around a violation as a self-contained HTML page with an SVG timeline:
// one lane per client process, one bar per op (call to return), the witness ops highlighted.
import { describeOperation, type Operation } from "./history.ts";
import type { Anomaly } from "./check.ts";

const LANE_PX = 34;
const WIDTH_PX = 1200;
const LABEL_PX = 60;

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The ops of the anomaly's key that overlap the witness's time window (its context writes included). */
function windowOps(anomaly: Anomaly, keyOps: readonly Operation[]): { ops: Operation[]; fromUs: number; toUs: number } {
  const strict = anomaly.strict;
  const fromUs = Math.min(...strict.map((o) => o.callUs), ...anomaly.free.map((o) => o.callUs));
  const finite = strict.map((o) => o.returnUs).filter(Number.isFinite);
  const toUs = Math.max(fromUs + 1, ...finite);
  const marginUs = (toUs - fromUs) * 0.1;
  const ops = keyOps.filter((o) => o.callUs <= toUs + marginUs && o.returnUs >= fromUs - marginUs);
  return { ops, fromUs: fromUs - marginUs, toUs: toUs + marginUs };
}

export function renderTimelineSvg(anomaly: Anomaly, keyOps: readonly Operation[]): string {
  const { ops, fromUs, toUs } = windowOps(anomaly, keyOps);
  const strict = new Set(anomaly.strict.map((o) => o.opId));
  const relaxed = new Set([...anomaly.free, ...anomaly.bounded].map((o) => o.opId));
  const lanes = [...new Set(ops.map((o) => o.process))].sort((a, b) => a - b);
  const x = (us: number) => LABEL_PX + ((Math.min(us, toUs) - fromUs) / (toUs - fromUs)) * (WIDTH_PX - LABEL_PX - 10);
  const parts: string[] = [];
  lanes.forEach((p, lane) => parts.push(`<text x="4" y="${lane * LANE_PX + 22}" font-size="12">p${p}</text>`));
  for (const op of ops) {
    const lane = lanes.indexOf(op.process);
    const x0 = x(Math.max(op.callUs, fromUs));
    const w = Math.max(2, x(op.returnUs) - x0);
    const fill = strict.has(op.opId) ? "#f4a6a6" : relaxed.has(op.opId) ? "#f8d9a0" : "#dddddd";
    const dash = Number.isFinite(op.returnUs) ? "" : ` stroke-dasharray="4 3"`;
    const label = escapeXml(describeOperation(op));
    parts.push(
      `<g><title>${label}</title><rect x="${x0.toFixed(1)}" y="${lane * LANE_PX + 6}" width="${w.toFixed(1)}" height="22" fill="${fill}" stroke="#555"${dash}/>` +
        `<text x="${(x0 + 3).toFixed(1)}" y="${lane * LANE_PX + 21}" font-size="10">${label}</text></g>`,
    );
  }
  const height = lanes.length * LANE_PX + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" font-family="monospace">${parts.join("")}</svg>`;
}

export function renderAnomalyHtml(anomaly: Anomaly, keyOps: readonly Operation[]): string {
  return [
    "<!doctype html><meta charset=utf-8><title>omnimeta: linearizability violation</title>",
    `<h3>key ${escapeXml(JSON.stringify(anomaly.key))}</h3>`,
    "<p>red: ops that cannot be ordered; orange: context writes (their outputs ignored); dashed: no answer.</p>",
    `<pre>${escapeXml(anomaly.explanation.join("\n"))}</pre>`,
    renderTimelineSvg(anomaly, keyOps),
  ].join("\n");
}
