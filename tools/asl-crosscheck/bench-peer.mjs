#!/usr/bin/env node
// The peer of bench/flow_engine: runs one flow with aws-local-stepfunctions
// (in memory, no durability), every Task answered by an in-process echo, and
// prints {"seconds": wall time of the run}.
//   node bench-peer.mjs FLOW.json INPUT.json
import { readFileSync } from 'node:fs';

import { StateMachine } from './interpreter.mjs';

const [flowFile, inputFile] = process.argv.slice(2);
const definition = JSON.parse(readFileSync(flowFile, 'utf8'));
const input = JSON.parse(readFileSync(inputFile, 'utf8'));

const handlers = {};
const collect = (machine) => {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    if (state.Type === 'Task') handlers[name] = async (x) => x;
    for (const b of state.Branches ?? []) collect(b);
    if (state.Iterator) collect(state.Iterator);
    if (state.ItemProcessor) collect(state.ItemProcessor);
  }
};
collect(definition);

const machine = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
const t0 = process.hrtime.bigint();
const execution = machine.run(input, { overrides: { taskResourceLocalHandlers: handlers } });
await execution.result;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ seconds }) + '\n');
