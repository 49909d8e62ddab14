// [report-crash] Issue 4, "Tests": `kill -9` of the daemon while status
// updates are pending, on the loopback FAKE GitHub of lib/forge.js (every
// commit-status body validated against GitHub's published OpenAPI
// description, npm @octokit/openapi); no @octokit/fixtures-server here (its
// recordings hold no crash). The fake answers 503 so the updates stay in
// the outbox; paved is killed; the fake turns healthy; paved restarts on
// the same data dir: every pending update is delivered, each final state
// exactly once. Also: killed while a run is in its step (the run is
// interrupted and requeued): the context ends on the requeued run's state
// and no run's states arrive out of order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
    answers, byContext, finalProblems, githubStateOf, hotRetries, outbox,
    reportEnv, reportPipeline, settle, withForge,
} from './lib/forge.js';
import {
    listRuns, pushAndDeliver, waitDone, waitFor, waitRuns, waitStep, yq,
} from './lib/runs.js';

const T = { timeout: 300_000 };
const TOKEN = 'ghp_IntCrashToken0123456789abcdefABCDEF';
const PUBLIC = 'https://paved.example.test';

test('kill -9 with every final state pending (the forge answered 503) ' +
    '[FAKE GitHub, OpenAPI-validated]: after the restart each is ' +
    'delivered exactly once',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    for (const p of ['ci', 'lint'])
        reportPipeline(ctx, p, { branches: ['main', 'dev'] });
    reportPipeline(ctx, 'unit', { branches: ['main', 'dev'], fail: true });
    gh.onRequest((rec) => (rec.status ? answers.serverError(503)
        : undefined));
    const repo = ctx.repo('acme/crash');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const a = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    repo.checkoutBranch('dev');
    const shaB = repo.commit({ 'dev.txt': 'dev\n' });
    const b = await pushAndDeliver(ctx, repo, 'refs/heads/dev', shaB);
    const runs = [];
    for (const sha of [a.sha, b.sha]) {
        for (const r of await waitRuns(d, { sha }, 3))
            runs.push(await waitDone(d, r.id));
    }
    // every final state is in the outbox, tried and refused
    await waitFor('six pending final states, each tried', async () => {
        const rows = await outbox(d, 'pending');
        return rows.length === 6 && rows.every((r) => r.attempts >= 1 &&
            ['success', 'failure'].includes(r.state));
    }, { describe: async () => JSON.stringify(await outbox(d)) });
    const beforeKill = await outbox(d, 'pending');
    assert.equal(gh.accepted().length, 0, 'the forge took something');

    await d.kill9();
    gh.healthy();
    const restartedAt = Date.now();
    await d.restart();

    await waitFor('every context to show its final state', () =>
        finalProblems(gh, runs, { publicUrl: PUBLIC }).length === 0,
    { describe: () => finalProblems(gh, runs, { publicUrl: PUBLIC })
        .join('\n') });
    await settle(d, gh);
    assert.deepEqual(finalProblems(gh, runs, { publicUrl: PUBLIC }), []);
    assert.deepEqual(gh.schemaErrors(), []);
    assert.deepEqual(hotRetries(gh), []);
    // exactly once: per context one accepted request, the final state
    const accepted = byContext(gh.accepted());
    assert.equal(accepted.size, 6, [...accepted.keys()].join('\n'));
    for (const r of runs) {
        const k = `acme/crash@${r.sha} paved/${r.pipeline}`;
        const list = accepted.get(k) ?? [];
        assert.deepEqual(list.map((s) => s.state), [githubStateOf(r.state)],
            `${k}: accepted ${list.map((s) => `#${s.seq}=${s.state}`)}`);
        assert.ok(list[0].time >= restartedAt);
    }
    // the outbox agrees: all sent, the same rows as before the kill
    assert.deepEqual(await outbox(d), []);
    const sent = await outbox(d, 'sent');
    assert.deepEqual(sent.map((r) => r.id).sort((x, y) => x - y),
        beforeKill.map((r) => r.id).sort((x, y) => x - y));
    // nothing ran again
    assert.equal((await listRuns(d)).length, 6);
}));

test('kill -9 during a step, statuses pending behind 503s [FAKE GitHub, ' +
    'OpenAPI-validated]: after the restart the context ends on the ' +
    'requeued run\'s success; no run\'s states out of order',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    // the first attempt hangs; the requeued one passes
    ctx.pipeline('p.yaml', `name: p
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: work
    run: |
      if [ -e "$OUT/first-attempt" ]; then exit 0; fi
      echo "$PAVED_RUN_ID" > "$OUT/first-attempt"
      sleep 1000 &
      echo $! > "$OUT/sleep-pid"
      wait
`);
    gh.onRequest((rec) => (rec.status ? answers.serverError(503)
        : undefined));
    const repo = ctx.repo('acme/mid');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [first] = await waitRuns(d, { sha: pushed.sha }, 1);
    await waitStep(d, first.id, 'work', 'running');
    const pidFile = path.join(ctx.out, 'sleep-pid');
    await waitFor('the step to start its sleep', () =>
        fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim());
    ctx.trackPid(Number(fs.readFileSync(pidFile, 'utf8').trim()));
    await gh.waitFor('the running status (refused)', () =>
        gh.statuses().some((s) => s.state === 'pending'));

    await d.kill9();
    gh.healthy();
    await d.restart();
    const old = await waitDone(d, first.id);
    assert.equal(old.state, 'error', JSON.stringify(old));
    const [requeued] = await waitRuns(d, { sha: pushed.sha }, 1,
        (r) => r.id !== first.id);
    const done = await waitDone(d, requeued.id);
    assert.equal(done.state, 'success', JSON.stringify(done));
    const runs = await listRuns(d, { sha: pushed.sha });
    await waitFor('the context to show the requeued run\'s success', () =>
        finalProblems(gh, runs, { publicUrl: PUBLIC }).length === 0,
    { describe: () => finalProblems(gh, runs, { publicUrl: PUBLIC })
        .join('\n') });
    await settle(d, gh);
    assert.deepEqual(finalProblems(gh, runs, { publicUrl: PUBLIC }), []);
    assert.deepEqual(gh.schemaErrors(), []);
    const shown = gh.shown().get(`acme/mid@${pushed.sha} paved/p`);
    assert.equal(shown.target_url, `${PUBLIC}/api/v1/runs/${requeued.id}`);
    assert.deepEqual(await outbox(d), []);
}));
