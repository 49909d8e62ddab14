// [runs-crash] Issue 3, crash recovery: `kill -9` of the daemon while a
// step runs, then a restart on the same data dir: the interrupted run ends
// `error` (its reason says it was interrupted), one new run with
// `requeue_of` = the old id and `attempt: 2` is queued and runs, nothing
// stays `running`, and the delivery is not planned again (also after a
// second restart). A delivery killed right after its 202 is planned exactly
// once. The interrupted step's processes do not outlive the restart (the
// requeued attempt must not run next to them). SIGTERM during a run exits
// 0 and the next start recovers the run the same way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    assertRunState, FINISHED, listRuns, pidAlive, pushAndDeliver, readPid,
    runsOfDelivery, scenario, waitDone, waitFor, waitPlanned, waitRuns,
    waitStep, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

// The first attempt of `work` marks itself and hangs; any later attempt
// (the requeued run) passes.
function crashPipeline(ctx) {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: prepare
    run: echo "prepare $PAVED_RUN_ID" >> "$OUT/prepare"
  - name: work
    needs: [prepare]
    run: |
      if [ -e "$OUT/first-attempt" ]; then
        echo "second time for $PAVED_SHA"
        exit 0
      fi
      echo "$PAVED_RUN_ID" > "$OUT/first-attempt"
      sleep 1000 &
      echo $! > "$OUT/sleep-pid"
      wait
`);
}

async function startedHanging(ctx, runId) {
    await waitStep(ctx.d, runId, 'work', 'running');
    const f = path.join(ctx.out, 'sleep-pid');
    await waitFor('the first attempt to start its sleep', () =>
        fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim() !== '');
    const pid = readPid(f);
    ctx.trackPid(pid);
    return pid;
}

// After the restart: the old run is error, one requeued run succeeds.
async function checkRecovered(ctx, pushed, old) {
    const { d } = ctx;
    const dead = await waitDone(d, old.id);
    await assertRunState(d, dead, 'error');
    assert.match(String(dead.reason), /interrupt/i,
        `reason of the interrupted run: ${JSON.stringify(dead.reason)}`);
    assert.ok(dead.steps.every((s) => s.state !== 'running' &&
        s.state !== 'queued'), `steps of the interrupted run left ` +
        `unfinished: ${JSON.stringify(dead.steps)}`);

    const [requeued] = await waitRuns(d, { sha: pushed.sha }, 1,
        (r) => r.id !== old.id);
    assert.equal(requeued.requeue_of, old.id);
    assert.equal(requeued.attempt, 2);
    assert.equal(requeued.pipeline, old.pipeline);
    assert.equal(requeued.delivery, pushed.delivery);
    const done = await waitDone(d, requeued.id);
    await assertRunState(d, done, 'success');

    // exactly these two runs for the delivery, none running
    const runs = await runsOfDelivery(d, pushed.delivery);
    assert.deepEqual(runs.map((r) => r.id).sort((a, b) => a - b),
        [old.id, requeued.id].sort((a, b) => a - b),
        `runs of the delivery: ${JSON.stringify(runs)}`);
    assert.equal((await waitPlanned(d, pushed.delivery)).planned, true);
    return done;
}

async function checkNothingMoves(ctx, pushed, n) {
    const { d } = ctx;
    await waitPlanned(d, pushed.delivery);
    const runs = await runsOfDelivery(d, pushed.delivery);
    assert.equal(runs.length, n, `runs of the delivery after another ` +
        `restart: ${JSON.stringify(runs)}`);
    for (const r of runs)
        assert.ok(FINISHED.includes(r.state), `run ${r.id} is ${r.state}`);
    assert.deepEqual(await listRuns(d, { state: 'running' }), []);
    assert.deepEqual(await listRuns(d, { state: 'queued' }), []);
}

test('kill -9 during a step, restart: the run ends error (interrupted), ' +
    'one requeued run (attempt 2) succeeds; the delivery is not planned ' +
    'again', T, (t) => scenario(t, async (ctx) => {
    crashPipeline(ctx);
    const repo = ctx.repo('acme/crash');
    const d = await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [old] = await waitRuns(d, { sha: pushed.sha }, 1);
    await startedHanging(ctx, old.id);

    const k = await d.kill9();
    assert.equal(k.signal, 'SIGKILL');
    await d.restart();
    await checkRecovered(ctx, pushed, old);
    // `prepare` had finished before the crash; whatever the recovery
    // chose (resume or requeue), it ran once per run at most
    const prepared = fs.readFileSync(path.join(ctx.out, 'prepare'), 'utf8')
        .trim().split('\n');
    assert.ok(prepared.length <= 2, `prepare ran ${prepared.length} times`);

    // a second, graceful restart changes nothing
    await d.restart();
    await checkNothingMoves(ctx, pushed, 2);
}));

test('kill -9 right after the 202: the delivery is planned exactly once',
    T, (t) => scenario(t, async (ctx) => {
        ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
steps:
  - name: noop
    run: git rev-parse HEAD
`);
        const repo = ctx.repo('acme/crash-plan');
        const d = await ctx.start();
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        await d.kill9();
        await d.restart();
        await waitPlanned(d, pushed.delivery);
        await waitRuns(d, { sha: pushed.sha }, 1);
        // the run planned from the delivery, not a requeue of it
        const first = (await runsOfDelivery(d, pushed.delivery))
            .find((x) => !x.requeue_of);
        assert.ok(first, 'no run planned from the delivery');
        const done = await waitDone(d, first.id);
        // it may have been planned (and even started) before the kill:
        // then it is the interrupted run, and its requeue succeeds
        const runs = await runsOfDelivery(d, pushed.delivery);
        if (done.state === 'error') {
            assert.equal(runs.length, 2, JSON.stringify(runs));
            const again = runs.find((x) => x.requeue_of === done.id);
            assert.ok(again, `no requeue of ${done.id}: ` +
                JSON.stringify(runs));
            await assertRunState(d, await waitDone(d, again.id), 'success');
        } else {
            await assertRunState(d, done, 'success');
            assert.equal(runs.length, 1, JSON.stringify(runs));
        }
        const n = runs.length;
        await d.restart();
        await checkNothingMoves(ctx, pushed, n);
    }));

test('kill -9 during a step: the interrupted step\'s processes do not ' +
    'outlive the restart', T, (t) => scenario(t, async (ctx) => {
    crashPipeline(ctx);
    const repo = ctx.repo('acme/orphans');
    const d = await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [old] = await waitRuns(d, { sha: pushed.sha }, 1);
    const pid = await startedHanging(ctx, old.id);
    await d.kill9();
    await d.restart();
    await checkRecovered(ctx, pushed, old);
    await waitFor(`the interrupted step's sleep (pid ${pid}) to be gone ` +
        'once the requeued run has finished', () => !pidAlive(pid, 'sleep'),
    { timeoutMs: 5000 });
}));

test('SIGTERM during a step: exit 0; the next start recovers the run the ' +
    'same way', T, (t) => scenario(t, async (ctx) => {
    crashPipeline(ctx);
    const repo = ctx.repo('acme/term');
    const d = await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [old] = await waitRuns(d, { sha: pushed.sha }, 1);
    const pid = await startedHanging(ctx, old.id);
    const r = await d.stop();
    assert.equal(r.timedOut, false, 'SIGTERM: paved did not exit in 10 s');
    assert.equal(r.code, 0, `SIGTERM during a run: ${JSON.stringify(r)}`);
    // a graceful stop kills its children
    await waitFor(`the step's sleep (pid ${pid}) to be gone after SIGTERM`,
        () => !pidAlive(pid, 'sleep'), { timeoutMs: 5000 });
    await d.restart();
    await checkRecovered(ctx, pushed, old);
}));
