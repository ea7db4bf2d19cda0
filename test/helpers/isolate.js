'use strict';
// Runs groups of test cases in child processes, so that a crash (an abort, a segfault, a sanitizer
// report, running out of memory) or a hang fails the test instead of killing the tap runner.
//
// A test file defines its groups as async functions of a small assertion API and hands them to
// `isolated(__filename, groups)`. In the tap process that registers one tap test per group, which
// forks the same file with CNN_ISOLATE_GROUP=<name>; in the child it runs that group and streams
// every assertion back over IPC as it is made, so the parent knows the last case that started when
// a child dies.
//
//   isolated(__filename, {
//     async data(a) { a.ok(cond, 'message'); a.match(err.message, /re/, 'message'); },
//   }, { timeoutMs: 30000, execArgv: ['--expose-gc'] });
//
// Assertion API in the child: a.case(name) names the case the next assertions belong to;
// a.ok(cond, msg, diag), a.equal(x, y, msg), a.match(str, re, msg), a.comment(text), a.skip(msg).
// Assertions and comments are made into tap assertions in the parent, prefixed with the case name.

const { fork } = require('child_process');

const GROUP_ENV = 'CNN_ISOLATE_GROUP';

/** True in a child started by `isolated`. */
function isChild() {
  return typeof process.env[GROUP_ENV] === 'string' && typeof process.send === 'function';
}

function childApi() {
  let current = '';
  const send = (m) => process.send(m);
  const api = {
    case(name) {
      current = name;
      send({ type: 'case', name });
    },
    ok(cond, msg, diag) {
      const ok = !!cond;
      send({ type: 'assert', ok, msg: current ? `${current}: ${msg}` : msg, diag: ok ? undefined : diag });
      return ok;
    },
    equal(a, b, msg) {
      return api.ok(Object.is(a, b), msg, { found: String(a), wanted: String(b) });
    },
    match(s, re, msg) {
      return api.ok(typeof s === 'string' && re.test(s), msg, { found: String(s), pattern: String(re) });
    },
    comment(text) {
      send({ type: 'comment', text: current ? `${current}: ${text}` : text });
    },
    skip(msg) {
      send({ type: 'skip', msg });
    },
  };
  return api;
}

async function runChild(groups) {
  const name = process.env[GROUP_ENV];
  const group = groups[name];
  if (!group) {
    process.send({ type: 'fatal', message: `no group named ${name}` });
    process.exit(1);
  }
  const a = childApi();
  try {
    await group(a);
    process.send({ type: 'done' }, () => process.exit(0));
  } catch (e) {
    process.send({ type: 'fatal', message: e && e.stack ? e.stack : String(e) }, () => process.exit(1));
  }
}

/** Forks `file` for one group; resolves to {messages, code, signal, stderr, timedOut, ms}. */
function runGroup(file, name, opts = {}) {
  const { env = {}, execArgv = [], timeoutMs = 60000, onMessage } = opts;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = fork(file, [], {
      env: { ...process.env, ...env, [GROUP_ENV]: name },
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const messages = [];
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => { stderr += d; if (stderr.length > 200000) stderr = stderr.slice(-100000); });
    child.stdout.on('data', (d) => { stdout += d; if (stdout.length > 200000) stdout = stdout.slice(-100000); });
    child.on('message', (m) => {
      messages.push(m);
      if (onMessage) onMessage(m);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ messages, code, signal, stderr, stdout, timedOut, ms: Date.now() - t0 });
    });
  });
}

/** Replays a child's messages as tap assertions and fails on a crash, a hang or a missing 'done'. */
function report(t, name, r) {
  let lastCase = '(before the first case)';
  let asserts = 0;
  let done = false;
  let fatal = false;
  for (const m of r.messages) {
    if (m.type === 'case') lastCase = m.name;
    else if (m.type === 'assert') {
      asserts++;
      t.ok(m.ok, m.msg, m.diag);
    } else if (m.type === 'comment') t.comment(m.text);
    else if (m.type === 'skip') t.skip(m.msg);
    else if (m.type === 'fatal') {
      fatal = true;
      t.fail(`group ${name} threw outside a case (last case: ${lastCase})`, { error: m.message });
    }
    else if (m.type === 'done') done = true;
  }
  const tail = (s) => s.split('\n').slice(-40).join('\n');
  if (r.timedOut) {
    t.fail(`group ${name} hung: killed after ${r.ms} ms (last case: ${lastCase})`, { stderr: tail(r.stderr) });
  } else if (!done && !fatal) {
    t.fail(`group ${name} crashed: exit code ${r.code}, signal ${r.signal} (last case: ${lastCase})`, { stderr: tail(r.stderr) });
  } else if (done && r.code !== 0) {
    t.fail(`group ${name} exited with code ${r.code} after finishing`, { stderr: tail(r.stderr) });
  }
  if (/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(r.stderr)) {
    t.fail(`group ${name}: sanitizer report`, { stderr: tail(r.stderr) });
  }
  t.comment(`group ${name}: ${asserts} assertions in ${r.ms} ms`);
}

/**
 * In a child: runs the group named by the environment. In the tap process: one tap test per group
 * (the `only` environment variable CNN_ISOLATE_ONLY, a comma-separated list, selects some).
 */
function isolated(file, groups, opts = {}) {
  if (isChild()) {
    runChild(groups);
    return;
  }
  const t = require('tap');
  const only = process.env.CNN_ISOLATE_ONLY ? process.env.CNN_ISOLATE_ONLY.split(',') : null;
  for (const name of Object.keys(groups)) {
    const perGroup = (opts.groups && opts.groups[name]) || {};
    const skip = only && !only.includes(name) ? `not in CNN_ISOLATE_ONLY` : perGroup.skip || false;
    t.test(name, { skip }, async (tt) => {
      const r = await runGroup(file, name, { ...opts, ...perGroup });
      report(tt, name, r);
    });
  }
}

module.exports = { isolated, isChild, runGroup, report };
