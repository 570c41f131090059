#!/usr/bin/env node
// Runs beamflow's ASL conformance cases (tests/conformance/cases) through the
// third-party interpreter aws-local-stepfunctions and reports, case by case,
// whether it agrees with the expected result. A development tool, not part of
// CI: the disagreements are recorded in tests/conformance/DEVIATIONS.md.
//
//   npm install && node crosscheck.mjs [--json FILE] [--timeout SECONDS] [FILTER...]
//
// FILTER selects cases whose path (e.g. "choice/string_matches") contains it.
// Task Resources are emulated with local handlers that behave like beamflow's
// built-in actions (echo, fail, add, flaky, sleep); Globus `Action` states are
// not ASL and are reported as n/a.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';

import { StateMachine } from './interpreter.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const casesRoot = join(here, '..', '..', 'tests', 'conformance', 'cases');

function parseArgs(argv) {
  const opts = { json: null, timeout: 30, filters: [] };
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--json') opts.json = argv[++i];
    else if (argv[i] === '--timeout') opts.timeout = Number(argv[++i]);
    else opts.filters.push(argv[i]);
  }
  return opts;
}

function listCases(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listCases(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []))
    .sort();
}

// Every state of a definition, nested branches and item processors included.
function* allStates(machine) {
  for (const [name, state] of Object.entries(machine?.States ?? {})) {
    yield [name, state];
    for (const branch of state.Branches ?? []) yield* allStates(branch);
    if (state.Iterator) yield* allStates(state.Iterator);
    if (state.ItemProcessor) yield* allStates(state.ItemProcessor);
  }
}

// The action a Resource names: NAME, beamflow:NAME, arn:...:NAME or URL/NAME.
const actionName = (resource) => resource.split(/[:/]/).pop();

function taskError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

// Handlers emulating beamflow's built-in actions. flaky counts attempts per
// state within one execution, as beamflow does.
function makeHandler(action, stateName, attempts) {
  switch (action) {
    case 'echo':
      return async (input) => input;
    case 'add':
      return async (input) => input.a + input.b;
    case 'fail':
      return async (input) => {
        throw taskError(input.Error ?? 'Fail.Error', input.Cause ?? 'fail action called');
      };
    case 'flaky':
      return async (input) => {
        const n = (attempts.get(stateName) ?? 0) + 1;
        attempts.set(stateName, n);
        const failures = input.failures ?? 1;
        if (n <= failures) throw taskError(input.error ?? 'Flaky.Error', `flaky: attempt ${n} fails`);
        return { attempts: n };
      };
    case 'sleep':
      return async (input) => {
        await sleep(1000 * (input.seconds ?? 0));
        return { slept: input.seconds ?? 0 };
      };
    default:
      return async () => {
        throw taskError('Crosscheck.UnknownAction', `no emulation for action '${action}'`);
      };
  }
}

// What happened, in the vocabulary of a case's "expect".
async function runCase(doc, caseId, timeoutSeconds) {
  const states = [...allStates(doc.definition)];
  if (states.some(([, s]) => s.Type === 'Action')) return { status: 'N/A', why: 'Globus Action state' };
  let machine;
  try {
    machine = new StateMachine(doc.definition, { validationOptions: { checkArn: false } });
  } catch (e) {
    return { status: 'INVALID', why: String(e.message).split('\n').slice(1).join('; ') || e.message };
  }
  const attempts = new Map();
  const handlers = {};
  for (const [name, state] of states) {
    if (state.Type === 'Task') handlers[name] = makeHandler(actionName(state.Resource), name, attempts);
  }
  const input = doc.input ?? {};
  const context = {
    Execution: {
      Id: `arn:aws:states:local:000000000000:execution:conformance:${caseId}`,
      Name: caseId,
      Input: input,
      StartTime: new Date().toISOString(),
    },
    StateMachine: { Id: 'arn:aws:states:local:000000000000:stateMachine:conformance', Name: 'conformance' },
  };
  const execution = machine.run(input, { overrides: { taskResourceLocalHandlers: handlers }, context });
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => {
      execution.abort();
      resolve({ status: 'TIMEOUT', why: `no result after ${timeoutSeconds} s` });
    }, timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([
      execution.result.then((output) => ({ status: 'SUCCEEDED', output })),
      timeout,
    ]);
  } catch (e) {
    const cause = e.cause;
    if (cause) return { status: 'FAILED', error: cause.name, cause: cause.message };
    return { status: 'FAILED', error: e.name, cause: e.message };
  } finally {
    clearTimeout(timer);
  }
}

function agrees(expect, got) {
  if (got.status !== expect.status) return false;
  if (got.status === 'SUCCEEDED') return isDeepStrictEqual(got.output, expect.output);
  if (got.status === 'FAILED') {
    if (got.error !== expect.error) return false;
    if ('cause' in expect && got.cause !== expect.cause) return false;
    if ('cause_contains' in expect && !String(got.cause).includes(expect.cause_contains)) return false;
  }
  return true;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// For two objects, the members that differ ("key: expected ≠ got"); null
// when a plain side-by-side comparison says more.
function memberDiff(expected, got) {
  if (!isObject(expected) || !isObject(got)) return null;
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(got)])];
  return keys
    .filter((k) => !isDeepStrictEqual(expected[k], got[k]))
    .map((k) => `${k}: expected ${JSON.stringify(expected[k])}, got ${JSON.stringify(got[k])}`);
}

function describe(r) {
  const clip = (s) => (s.length > 110 ? `${s.slice(0, 107)}...` : s);
  switch (r.status) {
    case 'SUCCEEDED':
      return clip(`SUCCEEDED ${JSON.stringify(r.output)}`);
    case 'FAILED':
      return clip(`FAILED ${r.error}${r.cause !== undefined ? ` (${r.cause})` : ''}`);
    default:
      return clip(`${r.status}${r.why ? ` (${r.why})` : ''}`);
  }
}

const opts = parseArgs(process.argv.slice(2));
const files = listCases(casesRoot).filter(
  (f) => opts.filters.length === 0 || opts.filters.some((p) => relative(casesRoot, f).includes(p)),
);
const results = [];
const tally = {};
// Cases run one at a time: several sleep, and flaky keeps per-run counters.
for (const file of files) {
  const id = relative(casesRoot, file).replace(/\.json$/, '');
  const area = id.split('/')[0];
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const got = await runCase(doc, id.replace(/\W/g, '_'), opts.timeout);
  const verdict = got.status === 'N/A' ? 'n/a' : agrees(doc.expect, got) ? 'agree' : 'DISAGREE';
  tally[area] ??= { agree: 0, DISAGREE: 0, 'n/a': 0 };
  tally[area][verdict] += 1;
  results.push({ case: id, verdict, expected: doc.expect, got });
  if (verdict === 'DISAGREE') {
    const diff = got.status === 'SUCCEEDED' && doc.expect.status === 'SUCCEEDED' ? memberDiff(doc.expect.output, got.output) : null;
    if (diff) console.log(`DISAGREE  ${id}\n  ${diff.join('\n  ')}`);
    else console.log(`DISAGREE  ${id}\n  expected ${describe(doc.expect)}\n  got      ${describe(got)}`);
  }
}

console.log('\narea               agree  disagree  n/a');
const total = { agree: 0, DISAGREE: 0, 'n/a': 0 };
for (const [area, t] of Object.entries(tally)) {
  console.log(`${area.padEnd(18)} ${String(t.agree).padStart(5)}  ${String(t.DISAGREE).padStart(8)}  ${String(t['n/a']).padStart(3)}`);
  for (const k of Object.keys(total)) total[k] += t[k];
}
console.log(`${'total'.padEnd(18)} ${String(total.agree).padStart(5)}  ${String(total.DISAGREE).padStart(8)}  ${String(total['n/a']).padStart(3)}`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2));
