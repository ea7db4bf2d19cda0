'use strict';
// What every Node worker shares: argument parsing, the timing loop and the one-line JSON result.
// A worker measures one contender on one (model, mode, batch) and exits, so that its peak RSS is
// that contender's alone.

const RESULT_TAG = 'BENCH_RESULT ';

/** --key value pairs into an object (numbers converted); flags without a value become true. */
function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      o[key] = true;
    } else {
      o[key] = /^-?\d+(\.\d+)?$/.test(next) ? Number(next) : next;
      i++;
    }
  }
  return o;
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

/**
 * Runs step() (sync or async) for warm-up, then measures: at least minSteps steps and at least
 * measureMs of wall time (at most maxSteps). Returns every measured step's duration in ms, with
 * the process CPU time per step (all threads) as times.cpuMsPerStep and the minor page faults
 * per step as times.faultsPerStep.
 */
async function timeSteps(step, { warmupMs = 300, warmupSteps = 2, measureMs = 1500, minSteps = 3, maxSteps = 1e6 } = {}) {
  let t0 = now();
  for (let i = 0; i < warmupSteps || now() - t0 < warmupMs; i++) await step();
  const times = [];
  t0 = now();
  const c0 = process.cpuUsage();
  const f0 = process.resourceUsage().minorPageFault;
  while (times.length < maxSteps && (times.length < minSteps || now() - t0 < measureMs)) {
    const s = now();
    await step();
    times.push(now() - s);
  }
  const c = process.cpuUsage(c0);
  times.cpuMsPerStep = (c.user + c.system) / 1000 / times.length;
  times.faultsPerStep = (process.resourceUsage().minorPageFault - f0) / times.length;
  return times;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Images/s from step times: the median step, so that a descheduled step does not count. */
function summarise(times, batch) {
  const med = median(times);
  return {
    steps: times.length,
    stepMsMedian: med,
    stepMsMin: Math.min(...times),
    imagesPerSec: (batch * 1000) / med,
    cpuMsPerStep: times.cpuMsPerStep,
    pageFaultsPerStep: times.faultsPerStep,
  };
}

function rssMB() {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Prints the result line the runner parses (and exits). */
function emit(result) {
  result.maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(RESULT_TAG + JSON.stringify(result) + '\n');
}

/** Runs main(), turning a failure into a result line with an error. */
function runWorker(main) {
  main().then(
    (r) => {
      emit({ ok: true, ...r });
      process.exit(0);
    },
    (e) => {
      emit({ ok: false, error: String((e && e.stack) || e).split('\n').slice(0, 3).join(' | ') });
      process.exit(1);
    },
  );
}

module.exports = { RESULT_TAG, parseArgs, timeSteps, median, summarise, rssMB, emit, runWorker, now };
