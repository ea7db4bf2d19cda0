/** Confusion matrices: counting, and an aligned text table for the terminal. */

/**
 * counts[t][p]: how many examples of true class t were predicted as p (rows true, columns
 * predicted), for labels in [0, k).
 */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number): number[][] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`confusionMatrix: k must be a positive integer, received ${k}`);
  if (yTrue.length !== yPred.length) {
    throw new Error(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (!(Number.isInteger(t) && t >= 0 && t < k)) throw new RangeError(`confusionMatrix: true label ${t} at index ${i} is outside [0, ${k})`);
    if (!(Number.isInteger(p) && p >= 0 && p < k)) throw new RangeError(`confusionMatrix: prediction ${p} at index ${i} is outside [0, ${k})`);
    m[t][p]++;
  }
  return m;
}

/** Fraction of each row on the diagonal (recall per class); NaN for a class with no examples. */
export function perClassAccuracy(matrix: number[][]): number[] {
  return matrix.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? NaN : row[i] / n;
  });
}

/** Fraction of all counts on the diagonal. */
export function matrixAccuracy(matrix: number[][]): number {
  let hit = 0;
  let all = 0;
  matrix.forEach((row, i) => row.forEach((v, j) => ((all += v), i === j && (hit += v))));
  return all === 0 ? NaN : hit / all;
}

/**
 * An aligned text table: one row per true class ("index name"), one column per predicted class
 * (headed by its index, to stay narrow), and each class's accuracy at the end.
 */
export function formatConfusionMatrix(matrix: number[][], classNames?: readonly string[]): string {
  const k = matrix.length;
  if (k === 0) return '(empty confusion matrix)\n';
  for (const row of matrix) {
    if (row.length !== k) throw new Error(`formatConfusionMatrix: matrix must be square, found a row of ${row.length} in ${k}`);
  }
  const names = Array.from({ length: k }, (_, i) => `${i} ${classNames?.[i] ?? ''}`.trimEnd());
  const nameW = Math.max('true \\ predicted'.length, ...names.map((s) => s.length));
  const cellW = Math.max(String(k - 1).length, ...matrix.flat().map((v) => String(v).length)) + 1;
  const acc = perClassAccuracy(matrix);
  const head = 'true \\ predicted'.padEnd(nameW) + matrix.map((_, j) => String(j).padStart(cellW)).join('') + '  accuracy';
  const lines = [head];
  matrix.forEach((row, i) => {
    const a = Number.isNaN(acc[i]) ? '-' : (100 * acc[i]).toFixed(1) + '%';
    lines.push(names[i].padEnd(nameW) + row.map((v) => String(v).padStart(cellW)).join('') + a.padStart(10));
  });
  const total = matrixAccuracy(matrix);
  lines.push(`overall accuracy ${Number.isNaN(total) ? '-' : (100 * total).toFixed(2) + '%'}`);
  return lines.join('\n') + '\n';
}
