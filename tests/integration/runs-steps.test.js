// [runs-steps] Issue 3, step execution: a failing step fails the run and
// skips its dependents (independent steps still run); `allow_failure`
// neither fails the run nor skips; `retries` retry (attempts counted by
// the step itself and by the API); `if` skips; a `timeout` kills a step
// and every process it spawned (a background child, a grandchild and one
// that ignores SIGTERM): none survives the run; independent steps run in
// parallel (a rendezvous that only passes when they do), and one at a time
// with PAVED_STEP_PARALLELISM=1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    assertRunState, logTexts, pidAlive, pushAndDeliver, readPid, runLog,
    scenario, stepOf, waitDone, waitFor, waitRuns, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

async function onePushRun(ctx) {
    const repo = ctx.repo('acme/steps');
    await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
    return waitDone(ctx.d, listed.id);
}

const ran = (ctx, name) => fs.existsSync(path.join(ctx.out, `ran-${name}`));

test('a failing step fails the run and skips its dependents; independent ' +
    'steps still run', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: breaks
    run: |
      touch "$OUT/ran-breaks"
      echo "about to fail"
      exit 3
  - name: after-breaks
    needs: [breaks]
    run: touch "$OUT/ran-after-breaks"
  - name: after-after
    needs: [after-breaks]
    run: touch "$OUT/ran-after-after"
  - name: independent
    run: touch "$OUT/ran-independent"
  - name: set-e
    run: |
      false
      touch "$OUT/ran-past-false"
`);
    const run = await onePushRun(ctx);
    await assertRunState(ctx.d, run, 'failure');
    const breaks = stepOf(run, 'breaks');
    assert.equal(breaks.state, 'failure');
    assert.equal(breaks.exit_code, 3);
    for (const name of ['after-breaks', 'after-after']) {
        const s = stepOf(run, name);
        assert.equal(s.state, 'skipped', `step ${name}: ${JSON.stringify(s)}`);
        assert.ok(s.exit_code === null || s.exit_code === undefined,
            `skipped step ${name} has exit_code ${s.exit_code}`);
        assert.ok(!ran(ctx, name), `skipped step ${name} ran`);
    }
    assert.equal(stepOf(run, 'independent').state, 'success');
    assert.ok(ran(ctx, 'independent'));
    // scripts run with sh -e: a failing command ends the step
    const sete = stepOf(run, 'set-e');
    assert.equal(sete.state, 'failure');
    assert.equal(sete.exit_code, 1);
    assert.ok(!ran(ctx, 'past-false'), 'the script went on after `false`');

    const log = await runLog(ctx.d, run.id);
    assert.ok(log.includes('==> step breaks: failure <=='), log);
    assert.ok(log.includes('==> step after-breaks: skipped <=='), log);
    assert.ok(logTexts(await runLog(ctx.d, run.id, { step: 'breaks' }), 'out')
        .includes('about to fail'));
}));

test('allow_failure: the run succeeds and dependents run', T,
    (t) => scenario(t, async (ctx) => {
        ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: flaky
    allow_failure: true
    run: exit 7
  - name: next
    needs: [flaky]
    run: touch "$OUT/ran-next"
`);
        const run = await onePushRun(ctx);
        await assertRunState(ctx.d, run, 'success');
        const flaky = stepOf(run, 'flaky');
        assert.equal(flaky.state, 'failure',
            'an allowed failure is still shown as a failure of the step');
        assert.equal(flaky.exit_code, 7);
        assert.equal(stepOf(run, 'next').state, 'success');
        assert.ok(ran(ctx, 'next'), 'the dependent of an allowed failure ' +
            'did not run');
    }));

test('retries: a step is retried until it passes, and no more than ' +
    'retries times', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: third-time-lucky
    retries: 3
    run: |
      echo x >> "$OUT/count-lucky"
      n=$(wc -l < "$OUT/count-lucky")
      echo "attempt $n"
      [ "$n" -ge 3 ]
  - name: hopeless
    retries: 2
    run: |
      echo x >> "$OUT/count-hopeless"
      exit 1
  - name: once
    retries: 2
    run: echo x >> "$OUT/count-once"
`);
    const run = await onePushRun(ctx);
    await assertRunState(ctx.d, run, 'failure');
    const lines = (name) => fs.readFileSync(path.join(ctx.out,
        `count-${name}`), 'utf8').split('\n').filter(Boolean).length;

    const lucky = stepOf(run, 'third-time-lucky');
    assert.equal(lucky.state, 'success');
    assert.equal(lucky.attempts, 3);
    assert.equal(lines('lucky'), 3, 'the step did not run three times');
    const hopeless = stepOf(run, 'hopeless');
    assert.equal(hopeless.state, 'failure');
    assert.equal(hopeless.attempts, 3, '1 attempt + 2 retries');
    assert.equal(lines('hopeless'), 3);
    const once = stepOf(run, 'once');
    assert.equal(once.state, 'success');
    assert.equal(once.attempts, 1, 'a passing step is not retried');
    assert.equal(lines('once'), 1);
    // every attempt's output is kept in the step log
    const log = logTexts(await runLog(ctx.d, run.id,
        { step: 'third-time-lucky' }), 'out');
    for (const n of [1, 2, 3])
        assert.ok(log.includes(`attempt ${n}`), `log lost attempt ${n}: ` +
            JSON.stringify(log));
}));

test('if: a step whose condition is false is skipped',
    T, (t) => scenario(t, async (ctx) => {
        ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: on-main
    if: event == 'push' && branch == 'main'
    run: touch "$OUT/ran-on-main"
  - name: on-tag
    if: tag =~ 'v*'
    run: touch "$OUT/ran-on-tag"
`);
        const run = await onePushRun(ctx);
        await assertRunState(ctx.d, run, 'success');
        assert.equal(stepOf(run, 'on-main').state, 'success');
        assert.ok(ran(ctx, 'on-main'));
        assert.equal(stepOf(run, 'on-tag').state, 'skipped');
        assert.ok(!ran(ctx, 'on-tag'), 'a step with a false `if` ran');
    }));

test('timeout: the step, its background child, a grandchild and a child ' +
    'that ignores SIGTERM are all killed; none survives the run', T,
(t) => scenario(t, async (ctx) => {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: hangs
    timeout: 1s
    run: |
      echo $$ > "$OUT/pid-shell"
      sleep 1000 &
      echo $! > "$OUT/pid-child"
      sh -c 'sleep 1001 & echo $! > "$OUT/pid-grandchild"; wait' &
      sh -c 'trap "" TERM; exec sleep 1002' &
      echo $! > "$OUT/pid-stubborn"
      echo "started everything"
      wait
  - name: after
    needs: [hangs]
    run: touch "$OUT/ran-after"
`);
    const repo = ctx.repo('acme/timeout');
    await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
    const files = ['pid-child', 'pid-grandchild', 'pid-stubborn'];
    await waitFor('the step to write its pids', () => files.every((f) =>
        fs.existsSync(path.join(ctx.out, f)) &&
        fs.readFileSync(path.join(ctx.out, f), 'utf8').trim() !== ''));
    const pids = {
        'sleep 1000': readPid(path.join(ctx.out, 'pid-child')),
        'sleep 1001': readPid(path.join(ctx.out, 'pid-grandchild')),
        'sleep 1002': readPid(path.join(ctx.out, 'pid-stubborn')),
    };
    for (const pid of Object.values(pids))
        ctx.trackPid(pid);

    const run = await waitDone(ctx.d, listed.id);
    await assertRunState(ctx.d, run, 'failure');
    const hangs = stepOf(run, 'hangs');
    assert.equal(hangs.state, 'failure', `timed-out step: ` +
        JSON.stringify(hangs));
    assert.match(String(hangs.reason), /time/i,
        `the reason does not say it timed out: ${hangs.reason}`);
    assert.equal(stepOf(run, 'after').state, 'skipped');
    assert.ok(!ran(ctx, 'after'));
    // once the run has ended, no process of the step is alive (a short
    // grace for the kernel to finish tearing them down)
    await waitFor('every process of the timed-out step to be gone',
        () => Object.entries(pids).every(([m, pid]) => !pidAlive(pid, m)),
        { timeoutMs: 5000, describe: () => Object.entries(pids)
            .filter(([m, pid]) => pidAlive(pid, m))
            .map(([m, pid]) => `${pid} (${m}) still alive`).join(', ') });
    const log = await runLog(ctx.d, run.id, { step: 'hangs' });
    assert.ok(logTexts(log, 'out').includes('started everything'),
        `the log of the killed step was not kept:\n${log}`);
}));

// Two independent steps that each wait for the other to have started: they
// can only both pass when they run at the same time.
function rendezvousPipeline(ctx) {
    const step = (me, other) => `  - name: ${me}
    timeout: 60s
    run: |
      echo "start ${me}" >> "$OUT/order"
      touch "$OUT/up-${me}"
      i=0
      while [ ! -e "$OUT/up-${other}" ]; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then echo "no ${other}"; exit 1; fi
        sleep 0.1
      done
      echo "end ${me}" >> "$OUT/order"
`;
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
${step('left', 'right')}${step('right', 'left')}  - name: join
    needs: [left, right]
    run: echo joined
`);
}

test('independent steps run in parallel (each waits for the other)', T,
    (t) => scenario(t, async (ctx) => {
        rendezvousPipeline(ctx);
        const repo = ctx.repo('acme/dag');
        await ctx.start({ PAVED_STEP_PARALLELISM: '2' });
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
        const run = await waitDone(ctx.d, listed.id);
        await assertRunState(ctx.d, run, 'success');
        assert.equal(stepOf(run, 'join').state, 'success');
    }));

test('PAVED_STEP_PARALLELISM=1: independent steps run one at a time', T,
    (t) => scenario(t, async (ctx) => {
        ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: one
    run: |
      echo "start one" >> "$OUT/order"; sleep 0.5; echo "end one" >> "$OUT/order"
  - name: two
    run: |
      echo "start two" >> "$OUT/order"; sleep 0.5; echo "end two" >> "$OUT/order"
  - name: three
    run: |
      echo "start three" >> "$OUT/order"; sleep 0.5; echo "end three" >> "$OUT/order"
`);
        const repo = ctx.repo('acme/serial');
        await ctx.start({ PAVED_STEP_PARALLELISM: '1' });
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(ctx.d, { sha: pushed.sha }, 1);
        const run = await waitDone(ctx.d, listed.id);
        await assertRunState(ctx.d, run, 'success');
        const order = fs.readFileSync(path.join(ctx.out, 'order'), 'utf8')
            .trim().split('\n');
        assert.equal(order.length, 6, order.join('\n'));
        for (let i = 0; i < 6; i += 2) {
            const name = order[i].replace(/^start /, '');
            assert.deepEqual([order[i], order[i + 1]],
                [`start ${name}`, `end ${name}`],
                `steps overlapped with step_parallelism=1:\n${order.join('\n')}`);
        }
    }));
