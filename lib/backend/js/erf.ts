// erf / erfc to about 1e-15 relative, for the exact GELU. Two Chebyshev expansions whose
// coefficients are fitted once at load time from slow but accurate formulas:
//   |x| <= 3:  erf(x)  = x * P(x²),         P(u) = 2/√π e^{-u} Σ_n (2u)^n / (2n+1)!!   (all terms > 0)
//   |x| >  3:  erfc(x) = e^{-x²}/x * Q(1/x²), Q from the continued fraction
//              erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
// erfc is computed directly in the tail, so GELU keeps its relative accuracy for very negative x.

const X_SPLIT = 3;
const INV_SQRT_PI = 0.5641895835477563;

// P(u) = erf(√u)/√u by the positive series (no cancellation), u in [0, 9].
function erfOverXSeries(u: number): number {
  let term = 1, sum = 1;
  for (let n = 1; n < 200; n++) {
    term *= (2 * u) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return 2 * INV_SQRT_PI * Math.exp(-u) * sum;
}

// Q(s) = x e^{x²} erfc(x) with x = 1/√s, by the continued fraction evaluated from the back.
function erfcTailFraction(s: number): number {
  const x = 1 / Math.sqrt(s);
  let f = x;
  for (let k = 300; k >= 1; k--) f = x + (k / 2) / f;
  return (x * INV_SQRT_PI) / f;
}

// Chebyshev coefficients of f on [a, b], n terms (Numerical-Recipes-style DCT at the nodes).
function chebFit(f: (t: number) => number, a: number, b: number, n: number): Float64Array {
  const fx = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const y = Math.cos((Math.PI * (k + 0.5)) / n);
    fx[k] = f(0.5 * (b - a) * y + 0.5 * (b + a));
  }
  const c = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += fx[k] * Math.cos((Math.PI * j * (k + 0.5)) / n);
    c[j] = (2 / n) * s;
  }
  c[0] *= 0.5;
  let m = n; // drop the negligible tail
  while (m > 1 && Math.abs(c[m - 1]) < 1e-16) m--;
  return c.slice(0, m);
}

// Clenshaw sum of c_j T_j(y), y in [-1, 1].
function chebEval(c: Float64Array, y: number): number {
  let b1 = 0, b2 = 0;
  const y2 = 2 * y;
  for (let j = c.length - 1; j >= 1; j--) {
    const t = y2 * b1 - b2 + c[j];
    b2 = b1;
    b1 = t;
  }
  return y * b1 - b2 + c[0];
}

const U_MAX = X_SPLIT * X_SPLIT;
const S_MAX = 1 / U_MAX;
const CHEB_P = chebFit(erfOverXSeries, 0, U_MAX, 24);
const CHEB_Q = chebFit(erfcTailFraction, 0, S_MAX, 18);

/** erfc(x) for x > 3 (no cancellation). */
function erfcTail(x: number): number {
  const s = 1 / (x * x);
  return (Math.exp(-x * x) / x) * chebEval(CHEB_Q, (2 * s) / S_MAX - 1);
}

/** The error function. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax <= X_SPLIT) return x * chebEval(CHEB_P, (2 * x * x) / U_MAX - 1);
  if (ax > 27) return x > 0 ? 1 : -1; // erfc(27) underflows
  const r = 1 - erfcTail(ax);
  return x > 0 ? r : -r;
}

/** The complementary error function 1 - erf(x), accurate in relative terms for large x. */
export function erfc(x: number): number {
  if (x !== x) return x; // NaN
  const ax = Math.abs(x);
  if (ax <= X_SPLIT) return 1 - x * chebEval(CHEB_P, (2 * x * x) / U_MAX - 1);
  const t = ax > 27 ? 0 : erfcTail(ax);
  return x > 0 ? t : 2 - t;
}
