/**
 * model.summary(): the Keras-style table. A chain (Sequential) has three columns; a graph model
 * adds "Connected to" (the inbound layers of each node, `name[node][tensor]` as Keras prints them).
 */

export interface SummaryRow {
  name: string;
  className: string;
  /** Printed shape, e.g. "[null,32,32,3]" (several outputs joined with commas). */
  shape: string;
  params: number;
  /** Inbound tensors of each call of the layer (graph models only). */
  connectedTo?: string[];
}

export interface SummaryTotals { total: number; trainable: number }

/** Prints the table through printFn; `graph` selects the four-column form. */
export function printSummary(
  modelName: string, rows: SummaryRow[], totals: SummaryTotals, graph: boolean,
  lineLength: number | undefined, positions: number[] | undefined, printFn: (s: string) => void = console.log,
): void {
  const width = lineLength ?? (graph ? 98 : 65);
  const pos = positions ?? (graph ? [0.33, 0.55, 0.67, 1] : [0.45, 0.85, 1]);
  const cols = pos.map((p) => Math.floor(p * width));
  const row = (cells: string[]) => {
    let s = '';
    cells.forEach((cell, i) => {
      s += cell;
      s = s.slice(0, cols[i]).padEnd(cols[i]);
    });
    return s;
  };
  const header = graph ? ['Layer (type)', 'Output shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output shape', 'Param #'];
  printFn(`Model: "${modelName}"`);
  printFn('_'.repeat(width));
  printFn(row(header.slice(0, cols.length)));
  printFn('='.repeat(width));
  rows.forEach((r, i) => {
    const first = [`${r.name} (${r.className})`, r.shape, String(r.params)];
    if (graph) {
      const links = r.connectedTo ?? [];
      printFn(row([...first, links[0] ?? '']));
      for (const l of links.slice(1)) printFn(row(['', '', '', l]));
    } else {
      printFn(row(first));
    }
    printFn(i === rows.length - 1 ? '='.repeat(width) : '_'.repeat(width));
  });
  printFn(`Total params: ${totals.total}`);
  printFn(`Trainable params: ${totals.trainable}`);
  printFn(`Non-trainable params: ${totals.total - totals.trainable}`);
  printFn('_'.repeat(width));
}
