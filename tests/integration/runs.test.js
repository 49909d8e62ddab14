// [runs] Issue 3, "Tests (real git, no mocks)": a signed push to main of a
// real git repository (served by file:// and by `git daemon`) runs the
// matching pipeline against exactly the pushed commit (also a late webhook
// for an older commit, and an annotated tag whose `after` is the tag
// object); a missing commit or a dead clone URL ends `error` with a reason;
// the PAVED_* values a step sees for push, tag and pull_request; nothing
// else of the daemon's environment reaches a step; one run per
// repo+sha+pipeline+environment; replay; deliveries that plan nothing; the
// runs API and the CLI (`paved runs`, `paved logs [--follow]`,
// `paved replay`).
// Each test owns its daemon, repositories and temp dirs (lib/runs.js).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { git, ZERO_SHA } from './lib/git.js';
import { postGithub, request } from './lib/http.js';
import {
    apiJson, assertRunState, cli, cliJson, cliSpawn, deliver, fixture, getRun,
    listRuns, logTexts, parseEnv0, prPayload, pushAndDeliver, pushPayload,
    RFC3339, runLog, runsOfDelivery, scenario, SECRET, stepOf, waitDone,
    waitFor,
    waitPlanned, waitRuns, waitStep, yq,
} from './lib/runs.js';

const T = { timeout: 240_000 };

// build prints HEAD and writes what it saw to $OUT; test needs build and
// reads a file of the commit.
function ciPipeline(ctx) {
    ctx.pipeline('ci.yaml', `name: ci
on:
  push: {branches: [main]}
env:
  OUT: ${yq(ctx.out)}
steps:
  - name: build
    run: |
      git rev-parse HEAD
      git rev-parse HEAD > "$OUT/head-$PAVED_RUN_ID"
      pwd -P > "$OUT/pwd-$PAVED_RUN_ID"
      printf '%s\\n' "$PAVED_WORKSPACE" > "$OUT/ws-$PAVED_RUN_ID"
      echo "to stderr" >&2
  - name: test
    needs: [build]
    run: |
      test -f README.md
      echo "marker: $(cat marker.txt)"
`);
}

function readOut(ctx, name) {
    return fs.readFileSync(path.join(ctx.out, name), 'utf8').trim();
}

// The whole check of one successful push run of ciPipeline.
async function checkPushRun(ctx, repo, pushed, marker) {
    const { d } = ctx;
    const [listed] = await waitRuns(d, { sha: pushed.sha }, 1);
    const run = await waitDone(d, listed.id);
    await assertRunState(d, run, 'success');

    assert.equal(readOut(ctx, `head-${run.id}`), pushed.sha,
        '`git rev-parse HEAD` in the step is not the pushed SHA');
    const log = await runLog(d, run.id);
    assert.ok(logTexts(log, 'out').includes(pushed.sha),
        `the run log does not show the pushed SHA:\n${log}`);
    assert.ok(logTexts(log, 'err').includes('to stderr'),
        `stderr line missing from the log:\n${log}`);
    assert.ok(logTexts(log, 'out').includes(`marker: ${marker}`),
        `the step did not see the commit's files:\n${log}`);

    // cwd is the workspace, and PAVED_WORKSPACE names it
    const ws = readOut(ctx, `ws-${run.id}`);
    assert.ok(path.isAbsolute(ws), `PAVED_WORKSPACE "${ws}" is not absolute`);
    assert.equal(readOut(ctx, `pwd-${run.id}`), ws,
        'the step does not run in PAVED_WORKSPACE');
    // keep_workspaces defaults to never: gone once the run has ended
    await waitFor(`workspace ${ws} removed after the run`,
        () => !fs.existsSync(ws));
    return run;
}

test('push to main (file://): the run checks out the pushed SHA; run, ' +
    'steps and logs through the API', T, (t) => scenario(t, async (ctx) => {
    ciPipeline(ctx);
    const repo = ctx.repo('acme/web');
    const sha = repo.commit({ 'marker.txt': 'first\n' }, 'add marker');
    const d = await ctx.start();
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main', sha);
    assert.equal(pushed.sha, git(['rev-parse', 'refs/heads/main'],
        { cwd: repo.bare }));
    const run = await checkPushRun(ctx, repo, pushed, 'first');

    // the run object
    assert.equal(run.pipeline, 'ci');
    assert.equal(run.repo, 'acme/web');
    assert.equal(run.ref, 'refs/heads/main');
    assert.equal(run.sha, pushed.sha);
    assert.equal(run.event, 'push');
    assert.equal(run.environment, 'staging');
    assert.equal(run.delivery, pushed.delivery);
    assert.equal(typeof run.delivery_seq, 'number');
    assert.equal(run.attempt, 1);
    assert.ok(run.requeue_of === undefined || run.requeue_of === null,
        `a first run has requeue_of ${run.requeue_of}`);
    assert.equal(typeof run.concurrency_group, 'string');
    assert.ok(run.concurrency_group.length > 0, 'empty concurrency_group');
    for (const k of ['created_at', 'started_at', 'finished_at'])
        assert.match(String(run[k]), RFC3339, `run.${k}`);
    const ms = (x) => Date.parse(x);
    assert.ok(ms(run.created_at) <= ms(run.started_at) &&
        ms(run.started_at) <= ms(run.finished_at), 'run times out of order: ' +
        `${run.created_at} ${run.started_at} ${run.finished_at}`);

    // the steps
    assert.deepEqual(run.steps.map((s) => s.name), ['build', 'test']);
    const build = stepOf(run, 'build');
    const tst = stepOf(run, 'test');
    assert.equal(build.index, 0);
    assert.equal(tst.index, 1);
    for (const s of [build, tst]) {
        assert.equal(s.state, 'success', `step ${s.name}`);
        assert.equal(s.exit_code, 0, `step ${s.name} exit_code`);
        assert.equal(s.attempts, 1, `step ${s.name} attempts`);
        assert.match(String(s.started_at), RFC3339);
        assert.match(String(s.finished_at), RFC3339);
    }
    assert.deepEqual(build.needs, []);
    assert.deepEqual(tst.needs, ['build']);
    assert.ok(ms(build.finished_at) <= ms(tst.started_at),
        'test started before build finished');

    // the list: newest first, filters
    const all = await listRuns(d);
    assert.equal(all.length, 1, JSON.stringify(all));
    assert.equal(all[0].id, run.id);
    assert.equal((await listRuns(d, { sha: pushed.sha })).length, 1);
    assert.equal((await listRuns(d, { sha: 'f'.repeat(40) })).length, 0);
    assert.equal((await listRuns(d, { repo: 'acme/web' })).length, 1);
    assert.equal((await listRuns(d, { repo: 'acme/other' })).length, 0);
    assert.equal((await listRuns(d, { state: 'success' })).length, 1);
    assert.equal((await listRuns(d, { state: 'failure' })).length, 0);

    // the whole log: a header per step, in order, then its lines
    const log = await runLog(d, run.id);
    const hb = log.indexOf('==> step build: success <==\n');
    const ht = log.indexOf('==> step test: success <==\n');
    assert.ok(hb >= 0 && ht > hb, `step headers missing or out of order:\n${log}`);
    assert.ok(log.slice(hb, ht).includes(` out ${pushed.sha}\n`),
        'the SHA line is not under the build header');

    // one step's log, and from a byte offset
    const blog = await runLog(d, run.id, { step: 'build' });
    assert.ok(!blog.includes('==> step'), `?step= adds headers:\n${blog}`);
    assert.ok(!blog.includes('marker:'), `?step=build has test's lines:\n${blog}`);
    assert.deepEqual(logTexts(blog).filter((x) => x === pushed.sha),
        [pushed.sha]);
    const cut = Buffer.from(blog).indexOf('\n') + 1;
    assert.ok(cut > 0 && cut < Buffer.byteLength(blog));
    const tail = await runLog(d, run.id, { step: 'build', offset: cut });
    assert.equal(tail, Buffer.from(blog).subarray(cut).toString('utf8'),
        '?offset=N is not the step log from byte N');
    const none = await request(`${d.url}/api/v1/runs/${run.id}/log?step=nope`);
    assert.equal(none.status, 404, `unknown step: ${none.status} ${none.text}`);
    assert.equal((await request(`${d.url}/api/v1/runs/999999`)).status, 404);
    assert.equal((await request(`${d.url}/api/v1/runs/999999/log`)).status,
        404);

    // the delivery says it was planned
    const doc = await waitPlanned(d, pushed.delivery);
    assert.equal(doc.planned, true);
}));

test('git daemon (PAVED_CLONE_URL_TEMPLATE=git://...): the run checks out ' +
    'the pushed SHA', T, (t) => scenario(t, async (ctx) => {
    ciPipeline(ctx);
    const repo = ctx.repo('acme/api');
    const gitd = await ctx.gitDaemon();
    // the git daemon really serves it
    assert.match(git(['ls-remote', gitd.urlOf('acme/api'), 'refs/heads/main']),
        /^[0-9a-f]{40}\trefs\/heads\/main$/);
    const sha = repo.commit({ 'marker.txt': 'over git daemon\n' });
    await ctx.start({ PAVED_CLONE_URL_TEMPLATE: gitd.template });
    // the payload's clone_url points nowhere: the template must win
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main', sha,
        { cloneUrl: 'https://github.invalid/acme/api.git' });
    await checkPushRun(ctx, repo, pushed, 'over git daemon');

    // a second push to the same repository fetches into the same mirror
    const sha2 = repo.commit({ 'marker.txt': 'second fetch\n' });
    const pushed2 = await pushAndDeliver(ctx, repo, 'refs/heads/main', sha2,
        { cloneUrl: 'https://github.invalid/acme/api.git' });
    await checkPushRun(ctx, repo, pushed2, 'second fetch');
}));

test('no clone URL template: the payload\'s clone_url (git://) is fetched',
    T, (t) => scenario(t, async (ctx) => {
        ciPipeline(ctx);
        const repo = ctx.repo('acme/lib');
        const gitd = await ctx.gitDaemon();
        const sha = repo.commit({ 'marker.txt': 'from clone_url\n' });
        await ctx.start({ PAVED_CLONE_URL_TEMPLATE: undefined });
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main', sha,
            { cloneUrl: gitd.urlOf('acme/lib') });
        await checkPushRun(ctx, repo, pushed, 'from clone_url');
    }));

test('a delivery for an older commit runs that commit, not the branch tip',
    T, (t) => scenario(t, async (ctx) => {
        ciPipeline(ctx);
        const repo = ctx.repo('acme/exact');
        const a = repo.commit({ 'marker.txt': 'commit A\n' }, 'A');
        const pa = repo.push('refs/heads/main', a);
        const b = repo.commit({ 'marker.txt': 'commit B\n' }, 'B');
        repo.push('refs/heads/main', b); // main is at B now
        assert.notEqual(a, b);
        await ctx.start();
        // the (late) webhook of the push of A
        const delivery = await deliver(ctx.d, 'push', pushPayload({
            repo: repo.fullName, ref: 'refs/heads/main', before: pa.before,
            after: a, cloneUrl: repo.fileUrl }));
        await checkPushRun(ctx, repo, { sha: a, delivery }, 'commit A');
    }));

test('an annotated tag (GitHub sends the tag object\'s SHA as after): the ' +
    'run checks out the tagged commit', T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('release.yaml', `name: release
on:
  tag: {patterns: ["v*"]}
env:
  OUT: ${yq(ctx.out)}
steps:
  - name: head
    run: |
      git rev-parse HEAD > "$OUT/head-$PAVED_RUN_ID"
      printf '%s' "$PAVED_SHA" > "$OUT/sha-$PAVED_RUN_ID"
`);
    const repo = ctx.repo('acme/rel');
    const commit = repo.commit({ 'marker.txt': 'release\n' }, 'release');
    git(['tag', '--annotate', '--message', 'release 2.0.0', 'v2.0.0', commit],
        { cwd: repo.work });
    const tagObject = repo.revParse('refs/tags/v2.0.0');
    assert.notEqual(tagObject, commit);
    git(['push', '--quiet', 'origin', 'refs/tags/v2.0.0'], { cwd: repo.work });
    await ctx.start();
    const payload = pushPayload({ repo: repo.fullName,
        ref: 'refs/tags/v2.0.0', before: ZERO_SHA, after: tagObject,
        cloneUrl: repo.fileUrl });
    payload.head_commit.id = commit; // what GitHub sends for a tag push
    await deliver(ctx.d, 'push', payload);
    const [listed] = await waitRuns(ctx.d, {}, 1);
    const run = await waitDone(ctx.d, listed.id);
    await assertRunState(ctx.d, run, 'success');
    assert.equal(readOut(ctx, `head-${run.id}`), commit,
        'the run did not check out the commit the tag points to');
    assert.equal(run.environment, 'production');
}));

test('a SHA the repository does not have, or a clone URL nobody answers: ' +
    'the run ends error and says why', T, (t) => scenario(t, async (ctx) => {
    ciPipeline(ctx);
    const repo = ctx.repo('acme/gone');
    const d = await ctx.start({ PAVED_CLONE_URL_TEMPLATE: undefined });
    const missing = 'ab'.repeat(20);
    await deliver(d, 'push', pushPayload({ repo: repo.fullName,
        ref: 'refs/heads/main', before: repo.head(), after: missing,
        cloneUrl: repo.fileUrl }));
    const [r1] = await waitRuns(d, { sha: missing }, 1);
    const e1 = await waitDone(d, r1.id);
    await assertRunState(d, e1, 'error');
    assert.match(String(e1.reason), new RegExp(missing),
        `reason does not name the missing commit: ${e1.reason}`);
    assert.ok(e1.steps.every((s) => !['running', 'queued'].includes(s.state)),
        JSON.stringify(e1.steps));
    assert.ok(!fs.existsSync(path.join(ctx.out, `head-${r1.id}`)),
        'a step ran without a checkout');

    const other = ctx.repo('acme/unreachable');
    const sha = other.commit({ 'marker.txt': 'x\n' });
    const pushed = await pushAndDeliver(ctx, other, 'refs/heads/main', sha,
        { cloneUrl: 'git://127.0.0.1:1/acme/unreachable.git' });
    const [r2] = await waitRuns(d, { sha: pushed.sha }, 1);
    const e2 = await waitDone(d, r2.id);
    await assertRunState(d, e2, 'error');
    assert.ok(typeof e2.reason === 'string' && e2.reason.length > 0,
        'an error run without a reason');
}));

// ------------------------------------------------------------------ env

const DAEMON_ONLY = 'RUNTESTS_CANARY';
const CANARY = 'canary-value-must-not-reach-steps-4b1d';

function envPipeline(ctx) {
    ctx.pipeline('envdump.yaml', `name: envdump
on:
  push: {branches: [main]}
  tag: {patterns: ["v*"]}
  pull_request: {branches: [main]}
env:
  OUT: ${yq(ctx.out)}
  FROM_PIPELINE: pipeline-value
steps:
  - name: dump
    env:
      FROM_STEP: step-value
    run: |
      env -0 > "$OUT/env-$PAVED_RUN_ID"
      pwd -P > "$OUT/pwd-$PAVED_RUN_ID"
      git rev-parse HEAD > "$OUT/head-$PAVED_RUN_ID"
`);
}

// Names a step may see: what paved sets (PAVED_*), PATH, HOME, LANG, CI,
// what the pipeline and step set, and what the shell adds itself.
const ALLOWED = new Set(['PATH', 'HOME', 'LANG', 'CI', 'OUT', 'FROM_PIPELINE',
    'FROM_STEP', 'PWD', 'OLDPWD', 'SHLVL', '_']);

async function envOfRun(ctx, filters) {
    const [listed] = await waitRuns(ctx.d, filters, 1);
    const run = await waitDone(ctx.d, listed.id);
    await assertRunState(ctx.d, run, 'success');
    const env = parseEnv0(fs.readFileSync(path.join(ctx.out,
        `env-${run.id}`)));
    const head = readOut(ctx, `head-${run.id}`);
    const pwd = readOut(ctx, `pwd-${run.id}`);

    // nothing of the daemon's own environment but PATH and HOME
    const daemonEnv = { ...process.env, ...ctx.d.env };
    const leaked = Object.keys(env).filter((k) => !ALLOWED.has(k) &&
        (!k.startsWith('PAVED_') || k in daemonEnv));
    assert.deepEqual(leaked, [], `step env has names it must not have ` +
        `(daemon env leaking?): ${leaked.map((k) => `${k}=${env[k]}`)}`);
    assert.ok(!(DAEMON_ONLY in env), `${DAEMON_ONLY} reached the step`);
    for (const [k, v] of Object.entries(env)) {
        assert.ok(!v.includes(CANARY), `${k} carries the daemon's canary`);
        assert.ok(!v.includes(ctx.d.env.PAVED_GITHUB_SECRET),
            `${k} carries the webhook secret`);
    }
    assert.equal(env.LANG, 'C.UTF-8');
    assert.equal(env.CI, 'true');
    assert.equal(env.PATH, process.env.PATH, 'PATH is not the daemon\'s');
    assert.ok(env.HOME && env.HOME.length > 0, 'HOME is not set');
    assert.equal(env.FROM_PIPELINE, 'pipeline-value');
    assert.equal(env.FROM_STEP, 'step-value');
    assert.equal(env.OUT, ctx.out);
    assert.equal(env.PAVED_RUN_ID, String(run.id));
    assert.equal(env.PAVED_PIPELINE, 'envdump');
    assert.equal(env.PAVED_STEP, 'dump');
    assert.equal(env.PAVED_REPO, 'acme/env');
    assert.equal(env.PAVED_WORKSPACE, pwd, 'PAVED_WORKSPACE is not the cwd');
    assert.equal(env.PAVED_SHA, head, 'PAVED_SHA is not HEAD');
    return { run, env, head };
}

const unsetOrEmpty = (env, k) => !(k in env) || env[k] === '';

test('PAVED_* values for push, tag and pull_request; nothing else of the ' +
    'daemon\'s environment', T, (t) => scenario(t, async (ctx) => {
    envPipeline(ctx);
    const repo = ctx.repo('acme/env');
    const base = repo.head();
    await ctx.start({ [DAEMON_ONLY]: CANARY });
    const { d } = ctx;

    // push to main
    const a = repo.commit({ 'f.txt': 'a\n' }, 'A');
    const push = await pushAndDeliver(ctx, repo, 'refs/heads/main', a,
        { actor: 'alice' });
    const p = await envOfRun(ctx, { sha: a });
    assert.equal(p.head, a);
    assert.equal(p.run.event, 'push');
    assert.equal(p.run.environment, 'staging');
    assert.equal(p.env.PAVED_EVENT, 'push');
    assert.equal(p.env.PAVED_REF, 'refs/heads/main');
    assert.equal(p.env.PAVED_BRANCH, 'main');
    assert.ok(unsetOrEmpty(p.env, 'PAVED_TAG'), `PAVED_TAG=${p.env.PAVED_TAG}`);
    assert.equal(p.env.PAVED_SHA, a);
    assert.equal(p.env.PAVED_BEFORE, base);
    assert.equal(p.env.PAVED_ACTOR, 'alice');
    assert.equal(p.env.PAVED_ENV, 'staging');
    assert.ok(unsetOrEmpty(p.env, 'PAVED_PR_NUMBER'));
    assert.ok(unsetOrEmpty(p.env, 'PAVED_PR_TITLE'));
    assert.equal(push.delivery, p.run.delivery);

    // a (lightweight) tag on a new commit
    const b = repo.commit({ 'f.txt': 'b\n' }, 'B');
    const tag = repo.tag('v1.2.3', b);
    await deliver(d, 'push', pushPayload({ repo: repo.fullName,
        ref: 'refs/tags/v1.2.3', before: tag.before, after: b,
        cloneUrl: repo.fileUrl, actor: 'bob' }));
    const g = await envOfRun(ctx, { sha: b });
    assert.equal(g.head, b);
    assert.equal(g.run.event, 'tag');
    assert.equal(g.run.environment, 'production');
    assert.equal(g.run.ref, 'refs/tags/v1.2.3');
    assert.equal(g.env.PAVED_EVENT, 'tag');
    assert.equal(g.env.PAVED_REF, 'refs/tags/v1.2.3');
    assert.equal(g.env.PAVED_TAG, 'v1.2.3');
    assert.ok(unsetOrEmpty(g.env, 'PAVED_BRANCH'),
        `a tag run has PAVED_BRANCH=${g.env.PAVED_BRANCH}`);
    assert.equal(g.env.PAVED_SHA, b);
    assert.equal(g.env.PAVED_ACTOR, 'bob');
    assert.equal(g.env.PAVED_ENV, 'production');

    // a pull request from a branch into main
    repo.checkoutBranch('feature/x', a);
    const c = repo.commit({ 'f.txt': 'c\n' }, 'C');
    repo.push('refs/heads/feature/x', c);
    repo.push('refs/pull/42/head', c);
    await deliver(d, 'pull_request', prPayload({ repo: repo.fullName,
        number: 42, title: 'Make f better', headRef: 'feature/x', headSha: c,
        baseRef: 'main', baseSha: a, cloneUrl: repo.fileUrl,
        actor: 'carol' }));
    const r = await envOfRun(ctx, { sha: c });
    assert.equal(r.head, c, 'the PR run did not check out the head SHA');
    assert.equal(r.run.event, 'pull_request');
    assert.ok(r.run.environment === null || r.run.environment === undefined ||
        r.run.environment === '', `a PR run has environment ` +
        `${JSON.stringify(r.run.environment)}`);
    assert.equal(r.env.PAVED_EVENT, 'pull_request');
    assert.equal(r.env.PAVED_PR_NUMBER, '42');
    assert.equal(r.env.PAVED_PR_TITLE, 'Make f better');
    assert.equal(r.env.PAVED_BRANCH, 'feature/x');
    assert.equal(r.env.PAVED_SHA, c);
    assert.equal(r.env.PAVED_ACTOR, 'carol');
    assert.ok(!('PAVED_ENV' in r.env), `a pull request run has PAVED_ENV=` +
        `${JSON.stringify(r.env.PAVED_ENV)} (want it unset: checks only)`);
    assert.ok(unsetOrEmpty(r.env, 'PAVED_TAG'));
}));

// ------------------------------------------------------------ duplicates

test('one run per repo+sha+pipeline+environment: a redelivery and a PR ' +
    'of the pushed SHA add none, a tag (production) adds one, replay adds one',
T, (t) => scenario(t, async (ctx) => {
    ctx.pipeline('ci.yaml', `name: ci
on:
  push: {branches: [main]}
  tag: {patterns: ["v*"]}
  pull_request: {branches: [main]}
steps:
  - name: head
    run: git rev-parse HEAD
`);
    const repo = ctx.repo('acme/dup');
    const sha = repo.commit({ 'marker.txt': 'dup\n' });
    const d = await ctx.start();
    const first = await pushAndDeliver(ctx, repo, 'refs/heads/main', sha);
    const [r1] = await waitRuns(d, { sha }, 1);
    const done1 = await waitDone(d, r1.id);
    await assertRunState(d, done1, 'success');
    assert.equal(done1.environment, 'staging');
    assert.equal((await waitPlanned(d, first.delivery)).planned, true);
    assert.equal((await runsOfDelivery(d, first.delivery)).length, 1);

    // the same push under a new delivery id (a redelivery)
    const again = await deliver(d, 'push', first.payload);
    await waitPlanned(d, again);
    assert.deepEqual(await runsOfDelivery(d, again), [],
        'a redelivery of the same push planned a run');

    // a pull request whose head is the pushed SHA: opened, synchronize
    repo.push('refs/heads/topic', sha);
    for (const action of ['opened', 'synchronize']) {
        const pr = await deliver(d, 'pull_request', prPayload({
            repo: repo.fullName, number: 5, action, headRef: 'topic',
            headSha: sha, baseSha: sha, cloneUrl: repo.fileUrl }));
        await waitPlanned(d, pr);
        assert.deepEqual(await runsOfDelivery(d, pr), [],
            `a pull_request ${action} of the pushed SHA planned a run`);
    }

    // a tag on the same SHA is another environment: one production run
    const tag = repo.tag('v9.9.9', sha);
    const tagDelivery = await deliver(d, 'push', pushPayload({
        repo: repo.fullName, ref: 'refs/tags/v9.9.9', before: tag.before,
        after: sha, cloneUrl: repo.fileUrl }));
    await waitPlanned(d, tagDelivery);
    const tagRuns = await runsOfDelivery(d, tagDelivery);
    assert.equal(tagRuns.length, 1, `tag of the pushed SHA: ` +
        JSON.stringify(tagRuns));
    assert.equal(tagRuns[0].environment, 'production');
    await assertRunState(d, await waitDone(d, tagRuns[0].id), 'success');
    // and its redelivery: none
    const tagAgain = await deliver(d, 'push', pushPayload({
        repo: repo.fullName, ref: 'refs/tags/v9.9.9', before: tag.before,
        after: sha, cloneUrl: repo.fileUrl }));
    await waitPlanned(d, tagAgain);
    assert.deepEqual(await runsOfDelivery(d, tagAgain), []);
    assert.equal((await listRuns(d, { sha })).length, 2,
        JSON.stringify(await listRuns(d, { sha })));

    // replay through the API: a new run even though runs exist
    const rp = await apiJson(d, `/api/v1/deliveries/${first.delivery}/replay`,
        { method: 'POST', want: 202 });
    assert.equal(rp.json?.status, 'queued', rp.text);
    assert.ok(Array.isArray(rp.json.runs) && rp.json.runs.length === 1,
        `replay: ${rp.text}`);
    const replayed = await waitDone(d, rp.json.runs[0]);
    await assertRunState(d, replayed, 'success');
    assert.equal(replayed.sha, sha);
    assert.equal(replayed.pipeline, 'ci');
    assert.equal(replayed.environment, 'staging');
    assert.equal(replayed.delivery, first.delivery);
    assert.notEqual(replayed.id, r1.id);
    // ... and through the CLI
    const cj = cliJson(d, ['replay', first.delivery]);
    assert.ok(Array.isArray(cj.runs) && cj.runs.length === 1,
        `paved replay --json: ${JSON.stringify(cj)}`);
    await assertRunState(d, await waitDone(d, cj.runs[0]), 'success');
    const after = await listRuns(d, { sha });
    assert.equal(after.length, 4, JSON.stringify(after));
    const ids = after.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => y - x),
        'runs are not listed newest first');

    const unknown = await request(`${d.url}/api/v1/deliveries/nope/replay`,
        { method: 'POST' });
    assert.equal(unknown.status, 404, `replay of an unknown delivery: ` +
        `${unknown.status} ${unknown.text}`);
    const bad = cli(d, ['replay', 'nope']);
    assert.equal(bad.status, 1, `paved replay nope: ${bad.status} ` +
        `${bad.stderr}`);
}));

test('a ping, a branch deletion and a push no pipeline wants plan nothing',
    T, (t) => scenario(t, async (ctx) => {
        ciPipeline(ctx);
        const repo = ctx.repo('acme/none');
        const d = await ctx.start();
        const ping = fixture('ping.json');
        const pr = await postGithub(d, { secret: SECRET, event: 'ping',
            body: JSON.stringify(ping) });
        assert.equal(pr.status, 200, pr.text);
        // a push to a branch that ci does not want
        const other = repo.commit({ 'x.txt': 'x\n' });
        const p1 = await pushAndDeliver(ctx, repo, 'refs/heads/other', other);
        // the deletion of main
        const del = pushPayload({ repo: repo.fullName,
            ref: 'refs/heads/main', before: repo.remoteRef('refs/heads/main'),
            after: ZERO_SHA, cloneUrl: repo.fileUrl });
        del.deleted = true;
        del.commits = [];
        del.head_commit = null;
        const p2 = await deliver(d, 'push', del);
        for (const id of [p1.delivery, p2]) {
            await waitPlanned(d, id);
            assert.deepEqual(await runsOfDelivery(d, id), [],
                `delivery ${id} planned runs`);
        }
        assert.deepEqual(await listRuns(d), []);
    }));

// ------------------------------------------------------------------ CLI

test('CLI: paved runs, paved logs RUN [STEP] and --follow until the run ends',
    T, (t) => scenario(t, async (ctx) => {
        ctx.pipeline('slow.yaml', `name: slow
on:
  push: {branches: [main]}
env:
  OUT: ${yq(ctx.out)}
steps:
  - name: wait
    run: |
      echo "line one"
      while [ ! -e "$OUT/release" ]; do sleep 0.1; done
      echo "line two"
  - name: after
    needs: [wait]
    run: echo "line three"
`);
        const repo = ctx.repo('acme/cli');
        const d = await ctx.start();
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha: pushed.sha }, 1);
        await waitStep(d, listed.id, 'wait', 'running');

        const j = cliJson(d, ['runs']);
        assert.ok(Array.isArray(j.runs), JSON.stringify(j));
        assert.equal(j.runs[0].id, listed.id);
        assert.equal(j.runs[0].sha, pushed.sha);
        const h = cli(d, ['runs']);
        assert.equal(h.status, 0, h.stderr);
        assert.ok(h.stdout.includes(String(listed.id)) &&
            h.stdout.includes('slow'), `paved runs:\n${h.stdout}`);
        const filtered = cliJson(d, ['runs', '--sha', 'f'.repeat(40)]);
        assert.deepEqual(filtered.runs, []);

        const follow = cliSpawn(d, ['logs', String(listed.id), 'wait',
            '--follow']);
        try {
            await waitFor('`paved logs --follow` to print line one',
                () => follow.out().includes('line one'),
                { describe: () => follow.out() + follow.err() });
            assert.ok(!follow.out().includes('line two'));
            fs.writeFileSync(path.join(ctx.out, 'release'), '');
            let timer;
            const ended = await Promise.race([follow.exited,
                new Promise((resolve) => {
                    timer = setTimeout(() => resolve(null), 60_000);
                })]);
            clearTimeout(timer);
            assert.ok(ended, '`paved logs --follow` did not exit after ' +
                `the run ended:\n${follow.out()}`);
            assert.equal(ended.code, 0, follow.err());
            assert.ok(follow.out().includes('line two'),
                `--follow missed a later line:\n${follow.out()}`);
            assert.ok(!follow.out().includes('line three'),
                'logs RUN STEP printed another step');
        } finally {
            if (follow.child.exitCode === null)
                follow.child.kill('SIGKILL');
        }
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');

        const all = cli(d, ['logs', String(listed.id)]);
        assert.equal(all.status, 0, all.stderr);
        for (const s of ['line one', 'line two', 'line three'])
            assert.ok(all.stdout.includes(s), `paved logs RUN:\n${all.stdout}`);
        const one = cli(d, ['logs', String(listed.id), 'after']);
        assert.equal(one.status, 0, one.stderr);
        assert.ok(one.stdout.includes('line three') &&
            !one.stdout.includes('line one'), one.stdout);
        const lj = cliJson(d, ['logs', String(listed.id)]);
        assert.equal(lj.run, listed.id, JSON.stringify(lj));
        assert.ok(typeof lj.log === 'string' && lj.log.includes('line two'),
            `paved logs --json: ${JSON.stringify(lj)}`);
        const gone = cli(d, ['logs', '999999']);
        assert.equal(gone.status, 1, `logs of an unknown run: ${gone.status}`);
        assert.equal(cli(d, ['logs', 'x1']).status, 2, 'a non-numeric run id');
        // detail through the API agrees
        const detail = await getRun(d, listed.id);
        assert.deepEqual(detail.steps.map((s) => s.state),
            ['success', 'success']);
    }));
