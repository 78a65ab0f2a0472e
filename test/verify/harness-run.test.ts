import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RegisterHistory } from '../../src/check/workload-histories.js';
import type { NemesisEvent } from './nemesis.js';
import { runVerification } from './run.js';
import type { Workload } from './workload.js';
import { workloadByName } from './workloads/index.js';

/**
 * One `npm run verify` unit end to end (test/verify/run.ts): a real workload under kill -9 on a
 * real cluster passes and leaves its report; a history that breaks linearizability is reported
 * as a violation with its drawing and the members' logs.
 */

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'concord-verify-out-'));
process.on('exit', () => fs.rmSync(outDir, { recursive: true, force: true }));

test('the register workload under kill -9 passes; the report holds history, verdict and the nemesis log', async () => {
  const lines: string[] = [];
  const result = await runVerification({
    workload: workloadByName('register'), nemesis: 'kill', timeS: 5, nodes: 3, seed: 11, outDir,
    network: 'auto', signal: new AbortController().signal, log: (l) => lines.push(l),
  });
  assert.equal(result.outcome, 'ok', `${result.summary}\n${lines.join('\n')}`);
  assert.equal(result.htmlPath, undefined);
  assert.equal(result.jsonPath, path.join(outDir, 'register-kill-11.json'));
  const report = JSON.parse(fs.readFileSync(result.jsonPath, 'utf8')) as {
    passed: boolean; seed: number; history: RegisterHistory; verdict: { verdict: string }; nemesisLog: NemesisEvent[];
  };
  assert.equal(report.passed, true);
  assert.equal(report.seed, 11);
  assert.equal(report.verdict.verdict, 'ok');
  assert.ok(report.history.operations.length > 0);
  const kills = report.nemesisLog.filter((e) => e.kind === 'kill' && e.action === 'start');
  assert.ok(kills.length >= 1, JSON.stringify(report.nemesisLog));
  assert.equal(result.faults, kills.length);
  assert.ok(report.nemesisLog.some((e) => e.kind === 'heal-all' && e.action === 'heal'));
});

test('a history that is not linearizable fails the run with a drawing and the members\' logs', async () => {
  // A "workload" that reports a read of a value nobody wrote: the harness must say violation, not ok.
  const lying: Workload = {
    name: 'register',
    async run(ctx) {
      await ctx.healed;
      const t = ctx.now();
      return {
        workload: 'register',
        operations: [
          { clientId: 0, callTime: t, returnTime: t + 1, input: { type: 'put', key: 'k', value: 'a' }, output: {} },
          { clientId: 1, callTime: t + 2, returnTime: t + 3, input: { type: 'get', key: 'k' }, output: { value: 'never-written' } },
        ],
      };
    },
  };
  const result = await runVerification({
    workload: lying, nemesis: 'none', timeS: 1, nodes: 3, seed: 12, outDir,
    network: 'proxy', signal: new AbortController().signal, log: () => {},
  });
  assert.equal(result.outcome, 'violation', result.summary);
  assert.equal(result.mode, 'proxy');
  assert.ok(result.htmlPath && fs.readFileSync(result.htmlPath, 'utf8').includes('<'));
  const members = fs.readFileSync(path.join(outDir, 'register-none-12-members.log'), 'utf8');
  assert.match(members, /== m1/);
  assert.match(members, /starting member/);
});
