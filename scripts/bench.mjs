#!/usr/bin/env node
/**
 * `npm run bench`: maint's own cost, as ratios against a baseline measured in the same run
 * (never absolute times: machines differ, ratios travel). Contenders alternate, several rounds;
 * each ratio is taken inside a round and the median over rounds reported. `--quick` is the CI smoke: one small round, targets not judged.
 *
 *   per-step overhead  N-step runbook of /bin/true (argv) vs a plain Node child_process.spawn loop;
 *                      as cron runs it (its parse cached by the run before) and beside it parsed afresh
 *   start-up           maint --version, validate of the shipped runbooks, a one-step run vs node -e 0
 *   memory             peak RSS of a run whose step prints 1 GB vs an idle maint run
 *   fan-out            parallel group of 200 `sleep 0.2`, concurrency 50, vs the ideal 4 × 0.2 s
 *   peer               the same runbook as an Ansible playbook (local connection), when installed
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/maint.js');
const ROUNDS = quick ? 1 : 11;
const STEPS = quick ? 40 : 400;
const work = mkdtempSync(join(tmpdir(), 'maint-bench-'));
mkdirSync(join(work, 'runbooks'));
const env = { ...process.env, NO_COLOR: '1', CI: '', GITHUB_ACTIONS: '', GITLAB_CI: '' };

const write = (name, text) => writeFileSync(join(work, 'runbooks', name), text);
const steps = (n, step) => Array.from({ length: n }, (_, i) => step(i)).join('');
write('steps.yaml', `steps:\n${steps(STEPS, (i) => `  - { name: s${i}, run: [/bin/true], readonly: true }\n`)}`);
write('steps-half.yaml', `steps:\n${steps(STEPS / 2, (i) => `  - { name: s${i}, run: [/bin/true], readonly: true }\n`)}`);
write('one.yaml', 'steps:\n  - { name: one, run: [/bin/true], readonly: true }\n');
write('big.yaml', `steps:\n  - { name: big, run: [head, -c, "${quick ? 100_000_000 : 1_000_000_000}", /dev/zero], readonly: true }\n`);
const FAN = quick ? 40 : 200;
write('fan.yaml', `steps:\n  - name: fan\n    concurrency: ${quick ? 10 : 50}\n    parallel:\n${steps(FAN, (i) => `      - { name: p${i}, run: [sleep, "0.2"], readonly: true }\n`)}`);

/** Wall time (ms) of one child process run to completion; throws on a non-zero exit. */
function timed(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolvePromise(performance.now() - t0) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${err}`))));
  });
}

/** Peak RSS (kB) of a maint run, from GNU time (`apt-get install time`). */
function peakRss(args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) throw new Error(`peak RSS of maint ${args.join(' ')}: ${r.error?.message ?? r.stderr}`);
  return Number(r.stderr.trim().split('\n').pop());
}

/**
 * The floor: Node spawning the same commands one after another with plain `spawn(file, args)`,
 * default options (stdout and stderr are pipes, as they must be for a tool that reads the output),
 * waiting for 'close'. `{ stdio: 'ignore' }`, which reads nothing, is shown beside it.
 */
async function spawnLoop(n, options) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await new Promise((res, rej) => {
      const child = spawn('/bin/true', [], options);
      child.stdout?.resume();
      child.stderr?.resume();
      child.on('close', (c) => (c === 0 ? res() : rej(new Error('true failed'))));
    });
  }
  return performance.now() - t0;
}

/** Per step, from the times of N and N/2 steps: the difference cancels the fixed start-up cost. */
const slope = (full, half) => (full - half) / (STEPS / 2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const maint = (...args) => timed(process.execPath, [BIN, ...args]);

// Each round measures every contender next to its baseline, so a ratio taken inside one round
// cancels the drift in load of a shared machine; the table reports medians over the rounds.
const rounds = [];
// The run before the first round: cron's runs find the runbook's parse kept by an earlier one.
for (const name of ['steps', 'steps-half', 'one', 'fan']) await maint('run', name, '-q');
for (let round = 0; round < ROUNDS; round++) {
  const r = {};
  r.node = await timed(process.execPath, ['-e', '0']);
  r.version = await maint('--version');
  r.node = (r.node + (await timed(process.execPath, ['-e', '0']))) / 2;
  r.validate = await maint('validate', '--strict');
  r.one = await maint('run', 'one', '-q');
  // Each maint run right beside the loop run of the same size, so a pair sees the same load; then
  // the same runs in reverse order, so a load that drifts during the round weighs on both alike.
  const total = { maint: [0, 0], loop: [0, 0] }; // ms of [N steps, N/2 steps], summed over both passes
  const order = [['maint', 0], ['loop', 0], ['maint', 1], ['loop', 1]];
  for (const [who, half] of [...order, ...[...order].reverse()]) {
    total[who][half] += who === 'maint' ? await maint('run', half ? 'steps-half' : 'steps', '-q') : await spawnLoop(half ? STEPS / 2 : STEPS);
  }
  r.perStep = slope(total.maint[0], total.maint[1]) / 2;
  r.spawn = slope(total.loop[0], total.loop[1]) / 2;
  r.spawnIgnored = slope(await spawnLoop(STEPS, { stdio: 'ignore' }), await spawnLoop(STEPS / 2, { stdio: 'ignore' }));
  // A state dir of its own for every run: no parse cache, as after an edit of the runbook.
  const fresh = () => ['--state', mkdtempSync(join(work, 'state-'))];
  r.perStepFresh = slope(await maint('run', 'steps', '-q', ...fresh()), await maint('run', 'steps-half', '-q', ...fresh()));
  r.fan = await maint('run', 'fan', '-q');
  rounds.push(r);
}
/** The median over the rounds of a measure, or of a ratio taken inside each round. */
const med = (f) => median(rounds.map(f));
const idleRss = peakRss(['run', 'one', '-q']);
const bigRss = peakRss(['run', 'big', '-q']);

const ansible = spawnSync('ansible-playbook', ['--version'], { stdio: 'ignore' }).status === 0;
let ansiblePerStep;
if (ansible && !quick) {
  const play = (n) => `- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n${steps(n, (i) => `    - name: s${i}\n      command: /bin/true\n`)}`;
  writeFileSync(join(work, 'full.yml'), play(200));
  writeFileSync(join(work, 'half.yml'), play(100));
  const a = await timed('ansible-playbook', ['-i', 'localhost,', join(work, 'full.yml')]);
  const b = await timed('ansible-playbook', ['-i', 'localhost,', join(work, 'half.yml')]);
  ansiblePerStep = (a - b) / 100;
}

const ideal = Math.ceil(FAN / (quick ? 10 : 50)) * 200;
const ms = (f, digits = 0) => `${med(f).toFixed(digits)} ms`;
const rows = [
  ['per-step overhead', `${ms((r) => r.perStep, 2)} vs spawn ${ms((r) => r.spawn, 2)}`, med((r) => r.perStep / r.spawn), 1.25],
  ['  vs spawn, stdio ignored', `${ms((r) => r.perStep, 2)} vs ${ms((r) => r.spawnIgnored, 2)}`, med((r) => r.perStep / r.spawnIgnored), undefined],
  ['  parsed afresh (no cache)', `${ms((r) => r.perStepFresh, 2)} vs spawn ${ms((r) => r.spawn, 2)}`, med((r) => r.perStepFresh / r.spawn), undefined],
  ['maint --version', `${ms((r) => r.version)} vs node -e 0 ${ms((r) => r.node)}`, med((r) => r.version / r.node), 1.5],
  ['maint validate (shipped)', ms((r) => r.validate), med((r) => r.validate / r.node), undefined],
  ['one-step run', ms((r) => r.one), med((r) => r.one / r.node), 2.5],
  [`${quick ? '100 MB' : '1 GB'} step peak RSS`, `${(bigRss / 1024).toFixed(0)} MB vs idle ${(idleRss / 1024).toFixed(0)} MB`, bigRss / 1024, 100, 'MB'],
  ['fan-out wall', `${ms((r) => r.fan)} vs ideal ${ideal} ms (+ start-up ${ms((r) => r.one)})`, med((r) => (r.fan - r.one) / ideal), 1.3],
];
if (ansiblePerStep !== undefined) rows.push(['ansible per step (peer)', `${ansiblePerStep.toFixed(1)} ms`, ansiblePerStep / med((r) => r.perStep), undefined, '× maint']);

console.log(`maint bench${quick ? ' (quick: smoke only, targets not judged)' : ''}: ${ROUNDS} round(s), medians; ${STEPS} steps, fan-out ${FAN}`);
console.log(`${'measure'.padEnd(26)} ${'value'.padEnd(52)} ${'ratio'.padStart(8)}  target  met`);
let allMet = true;
for (const [name, detail, ratio, target, unit] of rows) {
  const met = target === undefined ? '' : ratio <= target ? 'yes' : 'NO';
  if (met === 'NO') allMet = false;
  const shown = unit === 'MB' ? `${ratio.toFixed(0)} MB` : `${ratio.toFixed(2)}${unit ?? '×'}`;
  const goal = target === undefined ? '' : unit === 'MB' ? `≤${target} MB` : `≤${target}×`;
  console.log(`${name.padEnd(26)} ${detail.padEnd(52)} ${shown.padStart(8)}  ${goal.padEnd(6)}  ${met}`);
}
if (!ansible) console.log('ansible-playbook not installed: the peer comparison was skipped (apt-get install ansible)');
rmSync(work, { recursive: true, force: true });
if (!quick) console.log(allMet ? 'all targets met' : 'targets not met: see docs/performance.md for where the time goes');
