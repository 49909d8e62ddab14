// [runs-concurrency] Issue 3, concurrency and cancellation: two pushes in
// quick succession (the first run cancelled with its processes killed and
// its log kept, the second succeeds), also when the second push arrives
// before the first run started; `concurrency: queue` runs wait their turn
// and are never cancelled; cancel through the API and `paved cancel` (202,
// 409 once finished, 404 unknown), of a running and of a queued run;
// PAVED_MAX_RUNS_PER_REPO holds a repository's second run while another
// repository's run proceeds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { request, sleep } from './lib/http.js';
import {
    apiJson, assertRunState, cli, cliJson, getRun, listRuns, logTexts,
    pidAlive,
    pushAndDeliver, readPid, runLog, scenario, stepOf, waitDone, waitFor,
    waitPlanned, waitRuns, waitState, waitStep, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

// `work` sleeps (in a child, pid in $OUT) when the commit has a file
// `slow`; otherwise it passes at once.
function slowPipeline(ctx, extra = '') {
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
${extra}steps:
  - name: work
    run: |
      echo "working on $PAVED_SHA"
      if [ -f slow ]; then
        sleep 1000 &
        echo $! > "$OUT/sleep-$PAVED_RUN_ID"
        wait
      fi
      echo "done with $PAVED_SHA"
  - name: later
    needs: [work]
    run: touch "$OUT/later-$PAVED_RUN_ID"
`);
}

const outFile = (ctx, name) => path.join(ctx.out, name);

async function sleepPidOf(ctx, runId) {
    const f = outFile(ctx, `sleep-${runId}`);
    await waitFor(`run ${runId} to start its sleep`, () =>
        fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim() !== '');
    const pid = readPid(f);
    ctx.trackPid(pid);
    return pid;
}

async function checkCancelled(ctx, run) {
    await assertRunState(ctx.d, run, 'cancelled');
    const work = stepOf(run, 'work');
    assert.equal(work.state, 'cancelled', `step work: ${JSON.stringify(work)}`);
    const later = stepOf(run, 'later');
    assert.ok(['cancelled', 'skipped'].includes(later.state),
        `step later of a cancelled run: ${JSON.stringify(later)}`);
    assert.ok(!fs.existsSync(outFile(ctx, `later-${run.id}`)),
        'a step after the cancelled one ran');
}

test('two pushes in quick succession: the first run is cancelled (its ' +
    'processes killed, its log kept), the second succeeds', T,
(t) => scenario(t, async (ctx) => {
    slowPipeline(ctx);
    const repo = ctx.repo('acme/cancel');
    await ctx.start();
    const { d } = ctx;
    const a = repo.commit({ slow: 'yes\n' }, 'slow A');
    const pa = await pushAndDeliver(ctx, repo, 'refs/heads/main', a);
    const [ra] = await waitRuns(d, { sha: a }, 1);
    const pid = await sleepPidOf(ctx, ra.id);
    assert.equal((await getRun(d, ra.id)).state, 'running');

    const b = repo.commit({ slow: null }, 'fast B');
    await pushAndDeliver(ctx, repo, 'refs/heads/main', b);
    const [rb] = await waitRuns(d, { sha: b }, 1);
    assert.ok(rb.id > ra.id);
    const doneA = await waitDone(d, ra.id);
    await checkCancelled(ctx, doneA);
    assert.equal(doneA.concurrency_group, rb.concurrency_group,
        'both runs should share the repo+ref+pipeline group');
    assert.match(String(doneA.finished_at), /^\d{4}-/,
        'a cancelled run has no finished_at');
    const doneB = await waitDone(d, rb.id);
    await assertRunState(d, doneB, 'success');
    assert.ok(fs.existsSync(outFile(ctx, `later-${rb.id}`)));

    await waitFor(`the cancelled run's sleep (pid ${pid}) to be gone`,
        () => !pidAlive(pid, 'sleep'), { timeoutMs: 5000 });
    // the log of the cancelled run is kept
    const log = await runLog(d, ra.id, { step: 'work' });
    assert.ok(logTexts(log, 'out').includes(`working on ${a}`),
        `the cancelled run's log was not kept:\n${log}`);
    assert.ok(!logTexts(log, 'out').includes(`done with ${a}`));
    assert.equal((await waitPlanned(d, pa.delivery)).planned, true);
}));

test('two pushes back to back (the second before the first run started): ' +
    'the first is cancelled, the second succeeds', T,
(t) => scenario(t, async (ctx) => {
    slowPipeline(ctx);
    const repo = ctx.repo('acme/burst');
    await ctx.start();
    const { d } = ctx;
    const a = repo.commit({ slow: 'yes\n' }, 'slow A');
    await pushAndDeliver(ctx, repo, 'refs/heads/main', a);
    const b = repo.commit({ slow: null }, 'fast B');
    await pushAndDeliver(ctx, repo, 'refs/heads/main', b);

    const [ra] = await waitRuns(d, { sha: a }, 1);
    const [rb] = await waitRuns(d, { sha: b }, 1);
    const doneA = await waitDone(d, ra.id);
    if (fs.existsSync(outFile(ctx, `sleep-${ra.id}`)))
        ctx.trackPid(readPid(outFile(ctx, `sleep-${ra.id}`)));
    await checkCancelled(ctx, doneA).catch(async (e) => {
        // checkCancelled wants work=cancelled; a run cancelled before it
        // started may show its steps as skipped or cancelled
        if (doneA.state !== 'cancelled')
            throw e;
        for (const s of doneA.steps)
            assert.ok(['cancelled', 'skipped'].includes(s.state),
                `step ${s.name} of a cancelled run: ${JSON.stringify(s)}`);
    });
    await assertRunState(d, await waitDone(d, rb.id), 'success');
}));

test('concurrency: queue: a newer run waits for the older, which is not ' +
    'cancelled; they run one after the other', T,
(t) => scenario(t, async (ctx) => {
    ctx.pipeline('deploy.yaml', `name: deploy
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
concurrency: {mode: queue, max_queued: 5}
steps:
  - name: deploy
    run: |
      echo "start $PAVED_SHA" >> "$OUT/order"
      if [ -f slow ]; then
        while [ ! -e "$OUT/release" ]; do sleep 0.1; done
      fi
      echo "end $PAVED_SHA" >> "$OUT/order"
`);
    const repo = ctx.repo('acme/deploy');
    await ctx.start();
    const { d } = ctx;
    const a = repo.commit({ slow: 'yes\n' }, 'slow A');
    await pushAndDeliver(ctx, repo, 'refs/heads/main', a);
    const [ra] = await waitRuns(d, { sha: a }, 1);
    await waitStep(d, ra.id, 'deploy', 'running');
    await waitFor('A to start', () => fs.existsSync(outFile(ctx, 'order')));

    const b = repo.commit({ slow: null }, 'fast B');
    const pb = await pushAndDeliver(ctx, repo, 'refs/heads/main', b);
    await waitPlanned(d, pb.delivery);
    const [rb] = await waitRuns(d, { sha: b }, 1);
    // while A is held, B stays queued and A keeps running
    for (let i = 0; i < 10; i++) {
        const [xa, xb] = [await getRun(d, ra.id), await getRun(d, rb.id)];
        assert.equal(xa.state, 'running', `A while B waits: ${xa.state}`);
        assert.equal(xb.state, 'queued', `B while A runs: ${xb.state}`);
        await sleep(150);
    }
    fs.writeFileSync(outFile(ctx, 'release'), '');
    await assertRunState(d, await waitDone(d, ra.id), 'success');
    const doneB = await waitDone(d, rb.id);
    await assertRunState(d, doneB, 'success');
    const order = fs.readFileSync(outFile(ctx, 'order'), 'utf8')
        .trim().split('\n');
    assert.deepEqual(order, [`start ${a}`, `end ${a}`, `start ${b}`,
        `end ${b}`], 'queued runs overlapped');
}));

test('cancel through the API and `paved cancel`: a queued run never ' +
    'starts, a running one is killed; 409 once finished, 404 unknown', T,
(t) => scenario(t, async (ctx) => {
    // two pipelines for the same push; one run at a time
    for (const name of ['one', 'two']) {
        ctx.pipeline(`${name}.yaml`, `name: ${name}
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: work
    run: |
      echo "hello from $PAVED_PIPELINE"
      sleep 1000 &
      echo $! > "$OUT/sleep-$PAVED_RUN_ID"
      wait
`);
    }
    const repo = ctx.repo('acme/stop');
    await ctx.start({ PAVED_MAX_RUNS: '1' });
    const { d } = ctx;
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    await waitRuns(d, { sha: pushed.sha }, 2);
    let running;
    let queued;
    await waitFor('one run running, the other queued', async () => {
        const runs = await listRuns(d, { sha: pushed.sha });
        running = runs.find((r) => r.state === 'running');
        queued = runs.find((r) => r.state === 'queued');
        return running && queued;
    });
    const pid = await sleepPidOf(ctx, running.id);

    // cancel the queued one through the API
    const c1 = await apiJson(d, `/api/v1/runs/${queued.id}/cancel`,
        { method: 'POST', want: 202 });
    assert.deepEqual(c1.json, { run: queued.id, status: 'cancelling' });
    const q = await waitState(d, queued.id, ['cancelled', 'success',
        'failure', 'error']);
    await assertRunState(d, q, 'cancelled');
    assert.ok(q.started_at === null || q.started_at === undefined,
        `a run cancelled while queued has started_at ${q.started_at}`);
    for (const s of q.steps)
        assert.ok(['cancelled', 'skipped'].includes(s.state),
            `step ${s.name} of a run cancelled while queued: ${s.state}`);
    assert.equal((await getRun(d, running.id)).state, 'running',
        'cancelling the queued run touched the running one');

    // cancel the running one through the CLI
    const c2 = cliJson(d, ['cancel', String(running.id)]);
    assert.deepEqual(c2, { run: running.id, status: 'cancelling' });
    const r = await waitDone(d, running.id);
    await assertRunState(d, r, 'cancelled');
    assert.equal(stepOf(r, 'work').state, 'cancelled');
    await waitFor(`the cancelled run's sleep (pid ${pid}) to be gone`,
        () => !pidAlive(pid, 'sleep'), { timeoutMs: 5000 });
    assert.ok(logTexts(await runLog(d, r.id), 'out').some((x) =>
        x.startsWith('hello from ')), 'the log of a cancelled run was lost');

    // the queued run never started, even after the slot freed up
    await sleep(1000);
    assert.ok(!fs.existsSync(outFile(ctx, `sleep-${queued.id}`)),
        'the run cancelled while queued started anyway');
    assert.equal((await getRun(d, queued.id)).state, 'cancelled');

    // finished: 409; unknown: 404
    const again = await request(`${d.url}/api/v1/runs/${running.id}/cancel`,
        { method: 'POST' });
    assert.equal(again.status, 409, `cancel of a finished run: ` +
        `${again.status} ${again.text}`);
    assert.ok(again.json && typeof again.json.error === 'string', again.text);
    const unknown = await request(`${d.url}/api/v1/runs/999999/cancel`,
        { method: 'POST' });
    assert.equal(unknown.status, 404, `${unknown.status} ${unknown.text}`);
    const cliAgain = cli(d, ['cancel', String(running.id)]);
    assert.equal(cliAgain.status, 1, `paved cancel of a finished run: exit ` +
        `${cliAgain.status}`);
    const get = await request(`${d.url}/api/v1/runs/${running.id}/cancel`);
    assert.equal(get.status, 405, `GET .../cancel: ${get.status}`);
}));

test('run limits: PAVED_MAX_RUNS_PER_REPO=1 holds a repository\'s second ' +
    'run while another repository\'s run proceeds', T,
(t) => scenario(t, async (ctx) => {
    for (const name of ['one', 'two']) {
        ctx.pipeline(`${name}.yaml`, `name: ${name}
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: hold
    run: |
      while [ ! -e "$OUT/release" ]; do sleep 0.1; done
`);
    }
    const a = ctx.repo('acme/limit-a');
    const b = ctx.repo('acme/limit-b');
    await ctx.start({ PAVED_MAX_RUNS: '4', PAVED_MAX_RUNS_PER_REPO: '1' });
    const { d } = ctx;
    await pushAndDeliver(ctx, a, 'refs/heads/main');
    await pushAndDeliver(ctx, b, 'refs/heads/main');
    const count = async (repo) => {
        const runs = await listRuns(d, { repo: repo.fullName });
        return {
            running: runs.filter((r) => r.state === 'running').length,
            queued: runs.filter((r) => r.state === 'queued').length,
        };
    };
    await waitFor('one run running and one queued in each repository',
        async () => {
            const [ca, cb] = [await count(a), await count(b)];
            return ca.running === 1 && ca.queued === 1 && cb.running === 1 &&
                cb.queued === 1;
        }, { describe: async () => JSON.stringify([await count(a),
            await count(b)]) });
    for (let i = 0; i < 8; i++) {
        const [ca, cb] = [await count(a), await count(b)];
        assert.ok(ca.running <= 1 && cb.running <= 1, `more than one run ` +
            `of a repository at once: ${JSON.stringify([ca, cb])}`);
        await sleep(150);
    }
    fs.writeFileSync(outFile(ctx, 'release'), '');
    for (const r of await listRuns(d))
        await assertRunState(d, await waitDone(d, r.id), 'success');
    assert.equal((await listRuns(d, { state: 'success' })).length, 4);
}));
