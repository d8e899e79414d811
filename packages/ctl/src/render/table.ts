// Human output: aligned tables and key/value blocks, coloured through the chalk instance the
// context chose (level 0 when colour is off). Takes plain view objects, never protobuf messages.

import type { ChalkInstance } from "chalk";

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: "left" | "right";
  /** Colours the padded cell; the width is computed on the plain text. */
  style?: (text: string, row: Row) => string;
}

/** An aligned table: a bold header row, then one row per item, two spaces between columns. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[], chalk: ChalkInstance): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const pad = (text: string, i: number) =>
    columns[i].align === "right" ? text.padStart(widths[i]) : text.padEnd(widths[i]);
  const last = columns.length - 1;
  const header = columns.map((c, i) => chalk.bold(i === last ? c.header : pad(c.header, i))).join("  ");
  const lines = cells.map((r, ri) =>
    r.map((text, i) => {
      const padded = i === last && columns[i].align !== "right" ? text : pad(text, i);
      const style = columns[i].style;
      return style ? style(padded, rows[ri]) : padded;
    }).join("  ").trimEnd(),
  );
  return [header, ...lines].join("\n") + "\n";
}

/** A vertical block of "field  value" lines, fields dimmed and aligned. */
export function renderFields(fields: readonly [string, string][], chalk: ChalkInstance): string {
  const width = Math.max(...fields.map(([f]) => f.length));
  return fields.map(([f, v]) => `${chalk.dim(f.padEnd(width))}  ${v}`).join("\n") + "\n";
}
