// [report-faults] Issue 4, "Tests": faults of the forge, all on the
// loopback FAKE GitHub of lib/forge.js (every commit-status body it gets is
// validated against GitHub's published OpenAPI description, npm
// @octokit/openapi, operation repos/create-commit-status). None uses
// @octokit/fixtures-server: its recordings hold no faults.
// Faults: 500s for a stretch; 403 with X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset; a secondary rate limit (403, at least 60 s); 429 with
// Retry-After; connection refused; an answer slower than
// PAVED_REPORT_TIMEOUT; a 422 (failed, visible in the API and `paved
// outbox`, then retried by hand); more statuses than GitHub's 80 a minute.
// Afterwards every context of every commit shows its run's final state, no
// older state followed a newer one, the forge saw a small number of
// requests per context (no hot loop) and retries waited for the backoff.
// Poll deadlines are generous; the only time bounds asserted are lower
// bounds the daemon must wait (never "fast enough").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, sleep } from './lib/http.js';
import {
    answers, finalProblems, hotRetries, outbox, reportEnv, reportPipeline,
    settle, withForge,
} from './lib/forge.js';
import {
    cli, cliJson, listRuns, pushAndDeliver, waitDone, waitFor, waitRuns,
} from './lib/runs.js';

const T = { timeout: 300_000 };
const TOKEN = 'ghp_IntFaultsToken0123456789abcdefABCDEF';
const PUBLIC = 'https://paved.example.test';

// Two commits of one repository (main and dev), three pipelines each
// (ci and lint pass, unit fails): six contexts. Returns the finished runs.
function pipelines(ctx) {
    reportPipeline(ctx, 'ci', { branches: ['main', 'dev'] });
    reportPipeline(ctx, 'lint', { branches: ['main', 'dev'] });
    reportPipeline(ctx, 'unit', { branches: ['main', 'dev'], fail: true });
}

async function pushBoth(ctx, repo) {
    const a = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    repo.checkoutBranch('dev');
    const shaB = repo.commit({ 'dev.txt': 'dev\n' }, 'dev work');
    const b = await pushAndDeliver(ctx, repo, 'refs/heads/dev', shaB);
    return [a.sha, b.sha];
}

async function finishedRuns(d, shas, perSha = 3) {
    const out = [];
    for (const sha of shas) {
        for (const r of await waitRuns(d, { sha }, perSha))
            out.push(await waitDone(d, r.id));
    }
    return out;
}

// The checks every fault test ends with.
async function assertAllShown(d, gh, runs, opts = {}) {
    await waitFor('every context to show its final state', async () =>
        finalProblems(gh, runs, { publicUrl: PUBLIC, ...opts }).length === 0,
    { timeoutMs: opts.timeoutMs ?? 120_000,
        describe: () => finalProblems(gh, runs, { publicUrl: PUBLIC,
            ...opts }).join('\n') });
    await settle(d, gh);
    assert.deepEqual(finalProblems(gh, runs, { publicUrl: PUBLIC, ...opts }),
        []);
    assert.deepEqual(gh.schemaErrors(), []);
    assert.deepEqual(hotRetries(gh), [], 'a retry did not wait the backoff');
    assert.deepEqual(await outbox(d), [], 'pending or failed rows remain');
    const sent = await outbox(d, 'sent');
    assert.ok(sent.every((r) => r.sent_version === r.version),
        JSON.stringify(sent));
}

// Rows whose current (final) version has been tried at least n times.
async function rowsTried(d, n) {
    const rows = await outbox(d, 'pending');
    return rows.length > 0 && rows.every((r) => r.attempts >= n);
}

test('500s for a stretch, then OK [FAKE GitHub, OpenAPI-validated]: ' +
    'retried with backoff, every context ends on its final state',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    pipelines(ctx);
    gh.onRequest((rec) => (rec.status ? answers.serverError(500)
        : undefined));
    const repo = ctx.repo('acme/five');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const shas = await pushBoth(ctx, repo);
    const runs = await finishedRuns(d, shas);
    // the final states are in the outbox and have failed twice each
    await waitFor('every row tried twice', () => rowsTried(d, 2),
        { describe: async () => JSON.stringify(await outbox(d)) });
    const rows = await outbox(d);
    assert.equal(rows.length, 6, JSON.stringify(rows));
    for (const r of rows) {
        assert.equal(r.status, 'pending');
        assert.match(String(r.last_error), /500/, JSON.stringify(r));
        assert.equal(typeof r.next_attempt_at, 'string');
    }
    const cj = cliJson(d, ['outbox', '--state', 'pending']);
    assert.equal(cj.outbox.length, 6);
    gh.healthy();
    await assertAllShown(d, gh, runs);
    // every context saw at least one 500 and then a 201
    for (const r of runs) {
        const list = gh.statuses().filter((s) => s.sha === r.sha &&
            s.context === `paved/${r.pipeline}`);
        assert.ok(list.some((s) => s.answer.status === 500), r.pipeline);
        assert.equal(list.at(-1).answer.status, 201);
    }
}));

// A forge-wide hold, tested so that nothing else is in flight when the
// limit comes: one context (repo A, pipeline ci) gets the limiting answer
// to its first request; only after paved has logged it are two more
// contexts made (a commit on dev, another repository). No request may
// reach the forge after that answer and before `until` (ms) of the hold;
// then every context shows its final state.
async function holdTest(ctx, gh, { limit, until, logMatch, statusCode,
    timeoutMs }) {
    reportPipeline(ctx, 'ci', { branches: ['main', 'dev'] });
    let limited = null;
    gh.onRequest((rec) => {
        if (!rec.status || limited)
            return undefined;
        limited = { seq: rec.seq, spec: limit() };
        return limited.spec;
    });
    const repo = ctx.repo('acme/held');
    const other = ctx.repo('acme/other');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const a = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    await gh.waitFor('the limiting answer', () => limited !== null &&
        gh.requests[limited.seq].answer !== null);
    const heldAt = gh.requests[limited.seq].answeredAt;
    const end = until(heldAt, limited.spec);
    await waitFor('paved to log the limit', () => d.stderr().split('\n')
        .some((l) => /will retry/.test(l) &&
            l.includes(`status=${statusCode}`) && logMatch.test(l)),
    { describe: () => d.stderr().split('\n').filter((l) =>
        !/msg=request/.test(l)).slice(-10).join('\n') });
    const loggedAt = Date.now();
    // the held row waits (pending, not failed)
    const rows = await outbox(d);
    assert.ok(rows.length === 1 && rows[0].status === 'pending',
        `the limited row: ${JSON.stringify(rows)}`);
    repo.checkoutBranch('dev');
    const shaB = repo.commit({ 'dev.txt': 'dev\n' });
    await pushAndDeliver(ctx, repo, 'refs/heads/dev', shaB);
    const c = await pushAndDeliver(ctx, other, 'refs/heads/main');
    const runs = await finishedRuns(d, [a.sha, shaB, c.sha], 1);
    if (Date.now() < end) {
        const held = await outbox(d, 'pending');
        assert.equal(held.length, 3, `rows held while the forge is ` +
            `limited: ${JSON.stringify(held)}`);
    }
    await assertAllShown(d, gh, runs, { timeoutMs });
    const early = gh.requests.filter((r) => r.seq !== limited.seq &&
        r.time > heldAt && r.time < end);
    assert.deepEqual(early.map((r) => `#${r.seq} ${r.status?.context} ` +
        `${r.status?.state} arrived ${end - r.time} ms before the hold ` +
        `ended (limit answered at +${heldAt - gh.t0} ms, paved logged it ` +
        `by +${loggedAt - gh.t0} ms)`), [], 'requests during the hold');
    assert.ok(gh.requests.filter((r) => r.time >= end).length >= 3,
        'the held statuses were sent after the hold');
    return { d, runs };
}

test('403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset [FAKE ' +
    'GitHub, OpenAPI-validated]: nothing is sent to the forge before the ' +
    'reset, for any row; then everything is delivered',
T, (t) => withForge(t, {}, (ctx, gh) => holdTest(ctx, gh, {
    limit: () => answers.rateLimited(Math.ceil(Date.now() / 1000) + 4, 403),
    until: (_, spec) => Number(spec.headers['x-ratelimit-reset']) * 1000,
    statusCode: 403,
    logMatch: /API rate limit exceeded/,
})));

test('429 with Retry-After: 2 [FAKE GitHub, OpenAPI-validated]: nothing ' +
    'is sent for 2 s, for any row; then everything is delivered',
T, (t) => withForge(t, {}, (ctx, gh) => holdTest(ctx, gh, {
    limit: () => answers.tooMany(2),
    until: (at) => at + 2000,
    statusCode: 429,
    logMatch: /Too Many Requests/,
})));

test('a secondary rate limit (403 "You have exceeded a secondary rate ' +
    'limit", no headers) [FAKE GitHub, OpenAPI-validated]: the forge is ' +
    'left alone for at least 60 s, then everything is delivered',
T, (t) => withForge(t, {}, (ctx, gh) => holdTest(ctx, gh, {
    limit: () => answers.secondaryLimit(),
    until: (at) => at + 60_000,
    statusCode: 403,
    logMatch: /secondary rate limit/,
    timeoutMs: 180_000,
})));

test('connection refused, then the forge comes back on the same port ' +
    '[FAKE GitHub, OpenAPI-validated]: rows wait with the network error, ' +
    'then everything is delivered',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    pipelines(ctx);
    const repo = ctx.repo('acme/refused');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    await gh.refuse();
    const t0 = Date.now();
    const shas = await pushBoth(ctx, repo);
    const runs = await finishedRuns(d, shas);
    await waitFor('every row tried twice', () => rowsTried(d, 2),
        { describe: async () => JSON.stringify(await outbox(d)) });
    const rows = await outbox(d);
    assert.equal(rows.length, 6, JSON.stringify(rows));
    for (const r of rows) {
        assert.ok(typeof r.last_error === 'string' &&
            /connect|refused/i.test(r.last_error), `the network error is ` +
            `not shown: ${JSON.stringify(r)}`);
        // backoff, not a loop: 2 s base doubling (-25 % jitter) allows
        // at most 1 + log2(elapsed/1.5 s) + 1 attempts so far
        const elapsed = Date.now() - t0;
        const most = 2 + Math.ceil(Math.log2(Math.max(1, elapsed / 1500)));
        assert.ok(r.attempts <= most, `${r.attempts} attempts in ${
            elapsed} ms: ${JSON.stringify(r)}`);
    }
    assert.equal(gh.requests.length, 0);
    await gh.accept();
    await assertAllShown(d, gh, runs);
}));

test('an answer slower than PAVED_REPORT_TIMEOUT=1s [FAKE GitHub, ' +
    'OpenAPI-validated]: given up on, sent again, final states shown',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    pipelines(ctx);
    let slow = 0;
    gh.onRequest((rec) => {
        if (!rec.status || slow >= 3)
            return undefined;
        slow += 1;
        return { status: 201, delayMs: 4000, body: { id: rec.seq,
            state: rec.status.state } };
    });
    const repo = ctx.repo('acme/slow');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC, timeout: '1s' }));
    const shas = await pushBoth(ctx, repo);
    const runs = await finishedRuns(d, shas);
    await assertAllShown(d, gh, runs);
    const slowOnes = gh.requests.filter((r) => r.spec?.delayMs);
    assert.equal(slowOnes.length, 3);
    for (const r of slowOnes) {
        // paved hung up before the answer came
        assert.ok(r.answer.clientGone, `#${r.seq}: paved waited for the ` +
            'slow answer');
        // and sent the row again
        const again = gh.statuses().filter((s) => s.seq > r.seq &&
            s.sha === r.status.sha && s.context === r.status.context);
        assert.ok(again.length >= 1, `#${r.seq} was not sent again`);
    }
}));

test('422 (GitHub: "No commit found for SHA") [FAKE GitHub, ' +
    'OpenAPI-validated]: the row is failed with GitHub\'s message in ' +
    'GET /api/v1/outbox and `paved outbox`, not retried; after the fix, ' +
    'POST /api/v1/outbox/{id}/retry and `paved outbox retry` deliver it',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    reportPipeline(ctx, 'ci');
    reportPipeline(ctx, 'lint');
    reportPipeline(ctx, 'unit', { fail: true });
    let refuse = true;
    gh.onRequest((rec) => (rec.status && refuse &&
        rec.status.context !== 'paved/unit'
        ? answers.noCommit(rec.status.sha) : undefined));
    const repo = ctx.repo('acme/refuse');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const runs = await finishedRuns(d, [sha]);
    const msg = `No commit found for SHA: ${sha}`;
    await waitFor('two failed rows', async () =>
        (await outbox(d, 'failed')).length === 2,
    { describe: async () => JSON.stringify(await outbox(d)) });
    await settle(d, gh, { quietMs: 5000 });
    const failed = await outbox(d, 'failed');
    for (const r of failed) {
        assert.ok(['paved/ci', 'paved/lint'].includes(r.context));
        assert.equal(r.status, 'failed');
        assert.ok(String(r.last_error).includes(msg),
            `GitHub's message is not in last_error: ${JSON.stringify(r)}`);
        assert.ok(String(r.last_error).includes('422'),
            `the HTTP status is not in last_error: ${r.last_error}`);
        // a 4xx is never retried by itself: one request per state
        const list = gh.statuses().filter((s) => s.context === r.context);
        const states = list.map((s) => s.state);
        assert.equal(new Set(states).size, states.length,
            `${r.context}: a 422 was retried: ${states}`);
    }
    // the default list shows failed rows too; unit went through
    const def = await outbox(d);
    assert.deepEqual(def.map((r) => r.id).sort(),
        failed.map((r) => r.id).sort());
    const unitShown = gh.shown().get(`acme/refuse@${sha} paved/unit`);
    assert.equal(unitShown?.state, 'failure');
    // the CLI: a table with the message, and JSON
    const table = cli(d, ['outbox']);
    assert.equal(table.status, 0, table.stderr);
    assert.ok(table.stdout.includes(msg), `paved outbox:\n${table.stdout}`);
    assert.ok(table.stdout.includes('failed'), table.stdout);
    const cj = cliJson(d, ['outbox', '--state', 'failed']);
    assert.deepEqual(cj.outbox.map((r) => r.id).sort(),
        failed.map((r) => r.id).sort());
    // the log says it too, with the forge's message
    assert.ok(d.stderr().includes(msg), 'the log does not carry GitHub\'s ' +
        'message');

    // fixed: retry one through the API, the other through the CLI
    refuse = false;
    const ci = failed.find((r) => r.context === 'paved/ci');
    const lint = failed.find((r) => r.context === 'paved/lint');
    const before = gh.requests.length;
    const rr = await request(`${d.url}/api/v1/outbox/${ci.id}/retry`,
        { method: 'POST' });
    assert.equal(rr.status, 202, `${rr.status} ${rr.text}`);
    assert.deepEqual(rr.json, { id: ci.id, status: 'pending' });
    const cr = cli(d, ['outbox', 'retry', String(lint.id)]);
    assert.equal(cr.status, 0, `paved outbox retry: ${cr.stderr}`);
    assert.match(cr.stdout, new RegExp(`\\b${lint.id}\\b`));
    await assertAllShown(d, gh, await listRuns(d, { sha }));
    const after = gh.requests.slice(before);
    assert.deepEqual(after.map((r) => `${r.status.context}=${
        r.status.state}:${r.answer.status}`).sort(),
    ['paved/ci=success:201', 'paved/lint=success:201'],
    'each retried row was sent once with its final state');
    // sent now: a second retry is 409, an unknown id 404
    const again = await request(`${d.url}/api/v1/outbox/${ci.id}/retry`,
        { method: 'POST' });
    assert.equal(again.status, 409, `${again.status} ${again.text}`);
    const none = await request(`${d.url}/api/v1/outbox/987654/retry`,
        { method: 'POST' });
    assert.equal(none.status, 404, `${none.status} ${none.text}`);
    const bad = cli(d, ['outbox', 'retry', String(ci.id)]);
    assert.notEqual(bad.status, 0, 'paved outbox retry of a sent row ' +
        'exited 0');
    assert.equal(runs.length, 3);
}));

test('pacing [FAKE GitHub, OpenAPI-validated]: 90 statuses at once (one ' +
    'push, 90 skipped pipelines) reach the forge at most 80 in any minute, ' +
    'all of them in the end',
{ timeout: 300_000 }, (t) => withForge(t, {}, async (ctx, gh) => {
    const N = 90;
    for (let i = 0; i < N; i++)
        reportPipeline(ctx, `p${String(i).padStart(2, '0')}`,
            { branches: ['release'] });
    const repo = ctx.repo('acme/pace');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    await gh.waitFor(`${N} skipped statuses`, () => gh.accepted().length >=
        N, { timeoutMs: 200_000 });
    await settle(d, gh);
    const sts = gh.statuses();
    assert.equal(sts.length, N, 'one request per context');
    assert.equal(new Set(sts.map((s) => s.context)).size, N);
    assert.ok(sts.every((s) => s.sha === sha && s.state === 'success' &&
        s.description.startsWith('skipped: ')));
    // any 60 s window holds at most 80 requests
    const times = sts.map((s) => s.time).sort((x, y) => x - y);
    let worst = 0;
    for (let i = 0; i < times.length; i++) {
        let j = i;
        while (j < times.length && times[j] - times[i] < 60_000)
            j++;
        worst = Math.max(worst, j - i);
    }
    assert.ok(worst <= 80, `${worst} requests within 60 s`);
    assert.deepEqual(gh.schemaErrors(), []);
    await sleep(0);
}));
