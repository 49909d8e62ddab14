// [report] Issue 4, "Tests": commit statuses from real runs.
// Two kinds of GitHub server, and each test says which it uses:
//  - FAKE: lib/forge.js, a loopback server that records every request and
//    validates each commit-status body against GitHub's published OpenAPI
//    description (npm @octokit/openapi, operation
//    repos/create-commit-status); a body that does not conform is answered
//    422 and listed by forge.schemaErrors().
//  - FIXTURES: @octokit/fixtures-server replaying the `create-status`
//    scenario that @octokit/fixtures recorded from the real api.github.com
//    (matched strictly by nock: method, path, the recorded headers, body).
// Covered: signed push webhook -> run -> pending then success on the
// SHA/context with GitHub's exact headers and target_url; a failing run ->
// failure with its reason; a cancelled run -> error; a GitHub Enterprise
// base URL; a failed checkout's reason (cut to 140 characters) without the
// clone URL's credentials; a pipeline whose filters skip the commit -> success
// "skipped: ..."; the outbox API and `paved outbox` after delivery;
// Gitea and GitLab status requests; the fixtures-server replay.
// Each test owns its daemon, repositories, fake forge and temp dirs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sharedDir } from './lib/daemon.js';
import { hmacHex, request, sql, uuid } from './lib/http.js';
import {
    addContext, byContext, cut140, GITHUB_STATUS_OPERATION,
    githubStatusOperation, orderProblems, outbox, proxyTo, recordedScenario,
    releaseGate, reportEnv, reportPipeline, settle, startFakeForge,
    startFixturesServer, validateSchema, withForge,
} from './lib/forge.js';
import {
    assertRunState, cliJson, cli, deliver, pushAndDeliver, pushPayload,
    waitDone, waitFor, waitRuns, waitState,
} from './lib/runs.js';

const T = { timeout: 240_000 };
const TOKEN = 'ghp_IntReportToken0123456789abcdefABCDEF';
const PUBLIC = 'https://paved.example.test';

// GitHub's commit-status request headers, exactly (contract and the
// recording of @octokit/fixtures)
const GITHUB_HEADERS = {
    accept: 'application/vnd.github.v3+json',
    authorization: `token ${TOKEN}`,
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'paved',
};

function assertGithubRequest(rec, { repo, sha, prefix = '' }) {
    assert.equal(rec.method, 'POST');
    assert.equal(rec.url, `${prefix}/repos/${repo}/statuses/${sha}`,
        'the commit-status path');
    for (const [k, v] of Object.entries(GITHUB_HEADERS))
        assert.equal(rec.headers[k], v, `header ${k} of #${rec.seq}`);
    assert.equal(rec.raw, JSON.stringify(rec.body),
        `#${rec.seq}: the body is not compact JSON: ${rec.raw}`);
    const keys = Object.keys(rec.body);
    const want = ['state', 'target_url', 'description', 'context']
        .filter((k) => k in rec.body);
    assert.deepEqual(keys, want, `#${rec.seq}: body keys ${keys}`);
    assert.deepEqual(rec.schemaErrors, [], `#${rec.seq} does not conform ` +
        `to ${GITHUB_STATUS_OPERATION}: ${rec.schemaErrors.join('; ')}`);
    assert.ok([...rec.body.description].length <= 140,
        `#${rec.seq}: description over GitHub's 140 characters`);
}

function assertNoTokenInOutput(d, tokens) {
    const all = d.stderr() + d.stdout();
    for (const tk of tokens)
        assert.ok(!all.includes(tk), `the token ${tk} is in paved's output`);
}

test('the OpenAPI description used by the fake (sanity of the oracle)',
    () => {
        const op = githubStatusOperation();
        assert.equal(op.operationId, 'repos/create-commit-status');
        assert.deepEqual(op.schema.required, ['state']);
        assert.deepEqual([...op.schema.properties.state.enum].sort(),
            ['error', 'failure', 'pending', 'success']);
        // the validator refuses what GitHub's schema refuses
        const v = (b) => validateSchema(op.schema, b);
        assert.deepEqual(v({ state: 'success', context: 'paved/x',
            description: 'd', target_url: 'https://x.test/1' }), []);
        assert.deepEqual(v({ state: 'pending', target_url: null }), []);
        assert.equal(v({ state: 'running' }).length, 1, 'enum');
        assert.equal(v({ context: 'x' }).length, 1, 'required state');
        assert.equal(v({ state: 'success', description: 7 }).length, 1,
            'type');
        assert.equal(v({ state: 'success', extra: true }).length, 1,
            'a property the schema does not name');
        assert.equal(v([]).length, 1, 'not an object');
    });

test('END-TO-END [FAKE GitHub, validated against @octokit/openapi]: ' +
    'signed push -> run -> exactly pending then success for the SHA and ' +
    'context, GitHub\'s headers, target_url; the outbox API and CLI',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    reportPipeline(ctx, 'ci', { gate: true });
    const repo = ctx.repo('acme/web');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const { sha } = pushed;
    const [listed] = await waitRuns(d, { sha }, 1);
    await gh.waitFor('the pending status of paved/ci', () =>
        gh.accepted().some((s) => s.sha === sha && s.state === 'pending'));
    // the run is still running: the forge shows pending now
    assert.equal((await waitState(d, listed.id, 'running')).state,
        'running');
    releaseGate(ctx, 'ci');
    const run = await waitDone(d, listed.id);
    await assertRunState(d, run, 'success');
    await gh.waitFor('the success status of paved/ci', () =>
        gh.accepted().some((s) => s.sha === sha && s.state === 'success'));
    await settle(d, gh);

    const sts = gh.statuses();
    assert.deepEqual(sts.map((s) => [s.repo, s.sha, s.context, s.state]), [
        ['acme/web', sha, 'paved/ci', 'pending'],
        ['acme/web', sha, 'paved/ci', 'success'],
    ], 'exactly pending then success');
    assert.equal(gh.requests.length, 2, 'no other request reached the forge');
    for (const s of sts) {
        assertGithubRequest(s.rec, { repo: 'acme/web', sha });
        assert.equal(s.target_url, `${PUBLIC}/api/v1/runs/${run.id}`);
        assert.equal(s.answer.status, 201);
    }
    assert.equal(sts[0].description, `running: ${run.steps.length} step`);
    assert.match(sts[1].description, /^passed in \d+s$/);

    // the outbox: nothing pending or failed; the row is sent
    assert.deepEqual(await outbox(d), []);
    const sent = await outbox(d, 'sent');
    assert.equal(sent.length, 1, JSON.stringify(sent));
    const row = sent[0];
    assert.equal(row.forge, 'github');
    assert.equal(row.repo, 'acme/web');
    assert.equal(row.sha, sha);
    assert.equal(row.context, 'paved/ci');
    assert.equal(row.state, 'success');
    assert.equal(row.description, sts[1].description);
    assert.equal(row.target_url, `${PUBLIC}/api/v1/runs/${run.id}`);
    assert.equal(row.run, run.id);
    assert.equal(row.status, 'sent');
    assert.equal(row.sent_version, row.version, JSON.stringify(row));
    assert.ok(row.version >= 2, `two states, version ${row.version}`);
    assert.ok(!row.last_error, `last_error on a sent row: ${row.last_error}`);
    assert.equal(typeof row.updated_at, 'string');
    for (const k of ['id', 'version', 'sent_version', 'attempts', 'run'])
        assert.equal(typeof row[k], 'number', `outbox row ${k}`);
    // the CLI says the same
    const cj = cliJson(d, ['outbox', '--state', 'sent']);
    assert.deepEqual(cj.outbox.map((r) => r.id), [row.id]);
    const cdef = cliJson(d, ['outbox']);
    assert.deepEqual(cdef.outbox, []);
    const table = cli(d, ['outbox', '--state', 'sent']);
    assert.equal(table.status, 0, table.stderr);
    assert.ok(table.stdout.includes('paved/ci') &&
        table.stdout.includes('acme/web'), `paved outbox:\n${table.stdout}`);
    // a sent row cannot be retried; an unknown one is 404
    const again = await request(`${d.url}/api/v1/outbox/${row.id}/retry`,
        { method: 'POST' });
    assert.equal(again.status, 409, `${again.status} ${again.text}`);
    const none = await request(`${d.url}/api/v1/outbox/999999/retry`,
        { method: 'POST' });
    assert.equal(none.status, 404, `${none.status} ${none.text}`);
    assertNoTokenInOutput(d, [TOKEN]);
}));

test('END-TO-END [FAKE GitHub Enterprise base URL .../api/v3, validated ' +
    'against @octokit/openapi]: a failing run -> failure with its reason; ' +
    'a passing one on the same SHA -> success; a cancelled one -> error',
T, (t) => withForge(t, { prefix: '/api/v3' }, async (ctx, gh) => {
    reportPipeline(ctx, 'unit', { fail: true });
    reportPipeline(ctx, 'lint', { gate: true });
    reportPipeline(ctx, 'slow', { gate: true });
    const repo = ctx.repo('acme/api');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: `${PUBLIC}/` }));
    assert.match(gh.url, /\/api\/v3$/);
    const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const runs = await waitRuns(d, { sha }, 3);
    const id = (p) => runs.find((r) => r.pipeline === p).id;
    releaseGate(ctx, 'lint');
    const unit = await waitDone(d, id('unit'));
    await assertRunState(d, unit, 'failure');
    await assertRunState(d, await waitDone(d, id('lint')), 'success');
    await gh.waitFor('pending of paved/slow', () => gh.accepted().some(
        (s) => s.context === 'paved/slow' && s.state === 'pending'));
    const c = await request(`${d.url}/api/v1/runs/${id('slow')}/cancel`,
        { method: 'POST' });
    assert.equal(c.status, 202, c.text);
    const slow = await waitDone(d, id('slow'));
    await assertRunState(d, slow, 'cancelled');
    await settle(d, gh);

    assert.deepEqual(gh.schemaErrors(), []);
    const ctxs = byContext(gh.statuses());
    const last = (k) => ctxs.get(`acme/api@${sha} ${k}`)?.at(-1);
    for (const s of gh.statuses())
        assertGithubRequest(s.rec, { repo: 'acme/api', sha,
            prefix: '/api/v3' });
    assert.deepEqual(orderProblems(gh.statuses()), []);
    // failure, with the run's reason as description
    assert.equal(last('paved/unit')?.state, 'failure');
    assert.ok(typeof unit.reason === 'string' && unit.reason.length > 0,
        `a failed run without a reason: ${JSON.stringify(unit)}`);
    assert.equal(last('paved/unit').description, cut140(unit.reason));
    // public_url with a trailing slash still gives one slash
    assert.equal(last('paved/unit').target_url,
        `${PUBLIC}/api/v1/runs/${unit.id}`);
    assert.equal(last('paved/lint')?.state, 'success');
    // cancelled is "error" on GitHub (it has no cancelled state)
    assert.equal(last('paved/slow')?.state, 'error');
    assert.equal(last('paved/slow').target_url,
        `${PUBLIC}/api/v1/runs/${slow.id}`);
    // every request was taken once per state: nothing was sent twice
    for (const [k, list] of ctxs) {
        const states = list.map((s) => s.state);
        assert.equal(new Set(states).size, states.length,
            `${k}: a state sent twice: ${states}`);
    }
    assertNoTokenInOutput(d, [TOKEN]);
}));

test('a checkout that fails [FAKE GitHub, validated against ' +
    '@octokit/openapi]: error naming the stage and the run (the reason, ' +
    'with its URL and paths, stays in paved), and no credential of the ' +
    'clone URL reaches the forge',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    reportPipeline(ctx, 'ci');
    const repo = ctx.repo('acme/creds');
    const { freePort } = await import('./lib/git.js');
    const port = await freePort();
    const PW = 'cl0ne-pa55word-never-public';
    const d = await ctx.start({
        ...reportEnv(gh, { token: TOKEN, publicUrl: PUBLIC }),
        PAVED_CLONE_URL_TEMPLATE:
            `http://bot:${PW}@127.0.0.1:${port}/{repo}.git`,
    });
    const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const [listed] = await waitRuns(d, { sha }, 1);
    const run = await waitDone(d, listed.id);
    await assertRunState(d, run, 'error');
    await gh.waitFor('the error status', () => gh.accepted().some(
        (s) => s.state === 'error'));
    await settle(d, gh);
    const st = gh.statuses().at(-1);
    assertGithubRequest(st.rec, { repo: 'acme/creds', sha });
    assert.equal(st.state, 'error');
    assert.match(run.reason, /^checkout failed: /);
    assert.equal(st.description,
        `checkout failed: details in paved run ${run.id}`);
    assert.ok(!st.description.includes('127.0.0.1'), st.description);
    for (const r of gh.requests)
        assert.ok(!r.raw.includes(PW), `the clone password reached the ` +
            `forge: ${r.raw}`);
    for (const row of await outbox(d, 'sent'))
        assert.ok(!JSON.stringify(row).includes(PW), JSON.stringify(row));
    assertNoTokenInOutput(d, [TOKEN, PW]);
}));

test('skipped [FAKE GitHub, validated against @octokit/openapi]: a push ' +
    'to a branch a pipeline\'s on.push.branches excludes -> that context ' +
    'is success "skipped: ..."; a pipeline without on.push gets nothing',
T, (t) => withForge(t, {}, async (ctx, gh) => {
    reportPipeline(ctx, 'ci', { branches: ['main', 'feature/*'], gate: true });
    reportPipeline(ctx, 'deploy', { branches: ['release'], gate: true });
    ctx.pipeline('tagged.yaml', `name: tagged
on:
  tag: {patterns: ["v*"]}
steps:
  - name: t
    run: "true"
`);
    const repo = ctx.repo('acme/skip');
    const d = await ctx.start(reportEnv(gh, { token: TOKEN,
        publicUrl: PUBLIC }));
    repo.checkoutBranch('feature/x');
    const sha = repo.commit({ 'f.txt': 'x\n' });
    releaseGate(ctx, 'ci');
    const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/feature/x',
        sha);
    const [run] = await waitRuns(d, { sha }, 1);
    assert.equal(run.pipeline, 'ci');
    await assertRunState(d, await waitDone(d, run.id), 'success');
    await gh.waitFor('paved/deploy skipped', () => gh.accepted().some(
        (s) => s.context === 'paved/deploy'));
    await settle(d, gh);
    assert.deepEqual(gh.schemaErrors(), []);
    const dep = gh.statuses().filter((s) => s.context === 'paved/deploy');
    assert.equal(dep.length, 1, 'one status for the skipped pipeline');
    assert.equal(dep[0].sha, pushed.sha);
    assert.equal(dep[0].repo, 'acme/skip');
    assert.equal(dep[0].state, 'success');
    assert.match(dep[0].description, /^skipped: \S/,
        'the description says why it was skipped');
    assertGithubRequest(dep[0].rec, { repo: 'acme/skip', sha });
    assert.ok(!gh.statuses().some((s) => s.context === 'paved/tagged'),
        'a pipeline with no on.push got a status for a branch push');
    assert.equal(gh.shown().get(`acme/skip@${sha} paved/ci`)?.state,
        'success');
}));

// The two recorded requests of the create-status scenario:
//   POST /repos/octokit-fixture-org/create-status/statuses/000..001
//   {"state":"failure","target_url":"https://example.com",
//    "description":"create-status failure test","context":"example/1"}
//   {"state":"success","target_url":"https://example.com",
//    "description":"create-status success test","context":"example/2"}
// with Accept, Content-Type, Authorization: token 000..001 and
// Content-Length 119. paved can produce the path, the headers, the compact
// body with the same key order, the token, repo and SHA, and the state of
// the second one; it cannot produce (by its documented format):
//   - context: always "paved/<pipeline>", never "example/1"/"example/2";
//   - description: "running: N steps", "passed in Ns", the run's reason
//     or "skipped: <reason>", never "create-status ... test";
//   - target_url: "<public_url>/api/v1/runs/<id>" (or none for a
//     skipped pipeline), never the bare "https://example.com";
//   - state "failure" for SHA 000..001: no git commit has that SHA, so the
//     run of it ends "error" (checkout), never "failure".
// So a run is compared field by field below, and the byte-exact replay
// drives the reporter from its outbox (the test after it).
const FX_REPO = 'octokit-fixture-org/create-status';
const FX_SHA = '0000000000000000000000000000000000000001';
const FX_TOKEN = '0000000000000000000000000000000000000001';

async function fixturesRun(t, fn) {
    const fx = await startFixturesServer();
    try {
        await withForge(t, {}, async (ctx, gh) => fn(ctx, gh, fx));
    } finally {
        await fx.stop();
    }
}

// Drives paved to send the scenario's requests as closely as it can: a
// push of SHA 000..001 to main of octokit-fixture-org/create-status;
// pipeline "1" runs (and ends error: no such commit), pipeline "2" only
// wants branch "release" (skipped: success). Through the recording proxy
// (lib/forge.js, kind github) to the fixtures-server.
async function driveFixtures(ctx, gh, fx) {
    const sc = await fx.load('create-status');
    gh.onRequest(proxyTo(sc.url));
    reportPipeline(ctx, '1', { gate: true });
    reportPipeline(ctx, '2', { branches: ['release'], gate: true });
    const d = await ctx.start({
        ...reportEnv(gh, { token: FX_TOKEN, publicUrl: 'https://example.com' }),
        PAVED_CLONE_URL_TEMPLATE: undefined,
    });
    await deliver(d, 'push', pushPayload({ repo: FX_REPO,
        ref: 'refs/heads/main', before: '0'.repeat(40), after: FX_SHA,
        cloneUrl: `file://${ctx.gitRoot}/none.git` }));
    await gh.waitFor('two status requests', () =>
        gh.statuses().filter((s) => s.answer !== null).length >= 2);
    await waitFor('the outbox to settle', async () =>
        (await outbox(d, 'pending')).length === 0);
    return { d, sc, recorded: recordedScenario('create-status')
        .filter((r) => r.method === 'post') };
}

function fieldDiff(sent, recorded) {
    const out = [];
    for (const k of ['state', 'target_url', 'description', 'context']) {
        if (sent[k] !== recorded[k])
            out.push(`${k}: paved ${JSON.stringify(sent[k])}, recorded ` +
                `${JSON.stringify(recorded[k])}`);
    }
    return out;
}

test('FIXTURES [@octokit/fixtures-server, recorded from the real API, ' +
    'scenario create-status]: path, headers, token, compact body and key ' +
    'order as recorded; the server itself accepts the recorded requests',
T, (t) => fixturesRun(t, async (ctx, gh, fx) => {
    // control: the server takes the recorded requests byte for byte and
    // refuses a wrong Accept header (it is strict)
    const ctl = await fx.load('create-status');
    const rec = recordedScenario('create-status')
        .filter((r) => r.method === 'post');
    const send = (r, headers) => request(`${ctl.url}${r.path}`, {
        method: 'POST', body: JSON.stringify(r.body), headers });
    const recHeaders = {
        Accept: 'application/vnd.github.v3+json',
        Authorization: `token ${FX_TOKEN}`,
        'Content-Type': 'application/json; charset=utf-8',
    };
    const bad = await send(rec[0], { ...recHeaders,
        Accept: 'application/json' });
    assert.equal(bad.status, 404, `a wrong Accept was taken: ${bad.text}`);
    for (const r of rec) {
        const ok = await send(r, recHeaders);
        assert.equal(ok.status, 201, `the recorded request: ${ok.text}`);
    }

    const { recorded } = await driveFixtures(ctx, gh, fx);
    const sent = gh.statuses();
    assert.equal(sent.length, 2, 'one request per context');
    for (const s of sent) {
        const r = s.rec;
        t.diagnostic(`paved sent ${r.raw} -> ${r.answer.status} ` +
            `${r.answerText.replace(/\s+/g, ' ').slice(0, 300)}`);
        // what paved controls is what the recording has
        assert.equal(r.method.toLowerCase(), recorded[0].method);
        assert.equal(r.url, recorded[0].path);
        for (const k of ['accept', 'content-type', 'authorization'])
            assert.equal(r.headers[k], recorded[0].reqheaders[k], k);
        assert.equal(Number(r.headers['content-length']),
            Buffer.byteLength(r.raw));
        assert.equal(r.raw, JSON.stringify(r.body), 'compact');
        const order = Object.keys(recorded[0].body)
            .filter((k) => k in r.body);
        assert.deepEqual(Object.keys(r.body), order,
            'keys in the recorded order');
        assert.deepEqual(r.schemaErrors, []);
        // the server got past its method/path/fixture checks: only nock's
        // match of headers and body can have refused it
        assert.ok(r.answer.status === 201 ||
            (r.answer.status === 404 &&
                /Nock: No match for request/.test(r.answerText)),
        `fixtures-server refused before matching: ${r.answer.status} ` +
            r.answerText);
        const diffs = fieldDiff(r.body, (recorded.find((x) =>
            x.body.state === r.body.state) ?? recorded[0]).body);
        t.diagnostic(`fields that differ from the recording: ${
            diffs.join('; ') || 'none'}`);
    }
    const skipped = sent.find((s) => s.context === 'paved/2');
    assert.equal(skipped?.state, 'success',
        'the skipped pipeline is success, as recorded for the second call');
}));

// The reporter sends what its durable outbox holds. A run never produces
// the recording's context, description and target_url (see above), so
// this test drives the reporter the way a previous process would have
// left it: the two recorded statuses written as outbox rows into the
// store of a stopped paved (the same columns the run path fills), then
// paved started against the fixtures-server. Both must come back 201 from
// the recorded real API and end `sent`, exactly once each.
test('FIXTURES [@octokit/fixtures-server, recorded from the real API, ' +
    'scenario create-status]: the reporter sends exactly the recorded ' +
    'requests from its outbox after a restart (201 for both, once each)',
T, (t) => fixturesRun(t, async (ctx, gh, fx) => {
    const sc = await fx.load('create-status');
    gh.onRequest(proxyTo(sc.url));
    const recorded = recordedScenario('create-status')
        .filter((r) => r.method === 'post');
    // a first start makes the schema; a stop leaves the store as a
    // process that died with these statuses pending would
    const d = await ctx.start(reportEnv(gh, { token: FX_TOKEN }));
    await d.stop();
    const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
    for (const r of recorded) {
        const b = r.body;
        sql(d.dbPath, 'INSERT INTO outbox (forge, repo, sha, context, ' +
            'state, description, target_url, updated_ms) VALUES (' +
            ['github', FX_REPO, FX_SHA, b.context, b.state, b.description,
                b.target_url].map(q).join(', ') + `, ${Date.now()})`);
    }
    await d.restart();
    await gh.waitFor('the two recorded requests', () =>
        gh.statuses().filter((s) => s.answer !== null).length >= 2);
    await waitFor('the outbox to settle', async () =>
        (await outbox(d, 'pending')).length === 0);
    const sent = gh.statuses();
    assert.equal(sent.length, 2, `once each: ${sent.map((s) => s.rec.raw)}`);
    for (const r of recorded) {
        const m = sent.find((s) => s.rec.raw === JSON.stringify(r.body));
        assert.ok(m, `paved did not send ${JSON.stringify(r.body)}: ` +
            sent.map((s) => s.rec.raw).join(' | '));
        t.diagnostic(`paved sent ${m.rec.raw} -> ${m.answer.status}`);
        assert.equal(m.answer.status, 201,
            `fixtures-server: ${m.rec.answerText}`);
        for (const k of ['accept', 'content-type', 'authorization'])
            assert.equal(m.rec.headers[k], r.reqheaders[k], k);
    }
    const rows = await outbox(d, 'sent');
    assert.equal(rows.length, 2);
    for (const row of rows)
        assert.equal(row.sent_version, row.version);
}));

// ---------------------------------------------------- Gitea and GitLab

// A push payload of the shared corpus (a real Gitea or GitLab delivery)
// with a real repository's name and commit patched in.
function corpusPush(forge, { repo, sha, before }) {
    const p = JSON.parse(fs.readFileSync(path.join(sharedDir(), 'corpus',
        forge, 'push-event.json'), 'utf8'));
    const [owner, name] = repo.split('/');
    p.ref = 'refs/heads/main';
    p.before = before;
    p.after = sha;
    if (forge === 'gitea') {
        p.head_commit = { ...(p.head_commit ?? p.commits?.[0] ?? {}),
            id: sha };
        p.commits = [{ ...(p.commits?.[0] ?? {}), id: sha }];
        p.repository.full_name = repo;
        p.repository.name = name;
        if (p.repository.owner) {
            p.repository.owner.login = owner;
            p.repository.owner.username = owner;
        }
    } else {
        p.checkout_sha = sha;
        p.commits = [{ ...(p.commits?.[0] ?? {}), id: sha }];
        p.total_commits_count = 1;
        p.project.path_with_namespace = repo;
        p.project.name = name;
        p.project.namespace = owner;
    }
    return JSON.stringify(p);
}

test('Gitea and GitLab [FAKE, recorded only: no published schema is ' +
    'checked for them]: a push from each forge is reported to that forge ' +
    'only, on its status route, with its auth header and state names',
T, async (t) => {
    const gitea = await startFakeForge({ kind: 'gitea' });
    const gitlab = await startFakeForge({ kind: 'gitlab' });
    const GT = 'gitea-token-int-0b0b0b';
    const LT = 'glpat-int-0c0c0c0c0c';
    const HOOK = 'int-forge-hook-secret';
    try {
        await withForge(t, {}, async (ctx, gh) => {
            reportPipeline(ctx, 'ci', { gate: true });
            reportPipeline(ctx, 'bad', { fail: true });
            releaseGate(ctx, 'ci');
            const d = await ctx.start({
                ...reportEnv(gitea, { token: GT, publicUrl: PUBLIC }),
                ...reportEnv(gitlab, { token: LT }),
                ...reportEnv(gh, { token: TOKEN }),
                PAVED_GITEA_SECRET: HOOK,
                PAVED_GITLAB_TOKEN: HOOK,
            });
            // Gitea
            const r1 = ctx.repo('team/gt');
            const p1 = r1.push();
            const b1 = corpusPush('gitea', { repo: 'team/gt', sha: p1.after,
                before: p1.before });
            const g = await request(`${d.url}/hooks/gitea`, { method: 'POST',
                body: b1, headers: {
                    'Content-Type': 'application/json',
                    'X-Gitea-Event': 'push',
                    'X-Gitea-Delivery': uuid(),
                    'X-Gitea-Signature': hmacHex('sha256', HOOK, b1),
                } });
            assert.equal(g.status, 202, `gitea push: ${g.status} ${g.text}`);
            // GitLab
            const r2 = ctx.repo('group/lb');
            const p2 = r2.push();
            const b2 = corpusPush('gitlab', { repo: 'group/lb',
                sha: p2.after, before: p2.before });
            const l = await request(`${d.url}/hooks/gitlab`, {
                method: 'POST', body: b2, headers: {
                    'Content-Type': 'application/json',
                    'X-Gitlab-Event': 'Push Hook',
                    'X-Gitlab-Token': HOOK,
                    'X-Gitlab-Event-UUID': uuid(),
                } });
            assert.equal(l.status, 202, `gitlab push: ${l.status} ${l.text}`);
            const rs = [...await waitRuns(d, { sha: p1.after }, 2),
                ...await waitRuns(d, { sha: p2.after }, 2)];
            for (const r of rs)
                await waitDone(d, r.id);
            await waitFor('the outbox to settle', async () =>
                (await outbox(d)).length === 0 &&
                gitea.requests.every((r) => r.answer !== null) &&
                gitlab.requests.every((r) => r.answer !== null),
            { describe: async () => JSON.stringify(await outbox(d)) });

            assert.equal(gh.requests.length, 0,
                'a Gitea/GitLab push was reported to GitHub');
            assert.ok(gitea.requests.every((r) => r.status), 'gitea: ' +
                gitea.describe());
            assert.ok(gitlab.requests.every((r) => r.status), 'gitlab: ' +
                gitlab.describe());
            for (const s of gitea.statuses()) {
                const r = s.rec;
                assert.equal(r.url, `/api/v1/repos/team/gt/statuses/${
                    p1.after}`);
                assert.equal(r.headers.authorization, `token ${GT}`);
                assert.match(String(r.headers['content-type']),
                    /^application\/json/);
                assert.ok(['pending', 'success', 'failure', 'error']
                    .includes(s.state), `gitea state ${s.state}`);
                assert.match(s.context, /^paved\/(ci|bad)$/);
                assert.ok(s.target_url?.startsWith(`${PUBLIC}/api/v1/runs/`),
                    `gitea target_url ${s.target_url}`);
            }
            const lastOf = (f, c) => f.statuses().filter((s) =>
                s.context === c).at(-1)?.state;
            assert.equal(lastOf(gitea, 'paved/ci'), 'success');
            assert.equal(lastOf(gitea, 'paved/bad'), 'failure');
            for (const s of gitlab.statuses()) {
                const r = s.rec;
                assert.equal(r.url, `/api/v4/projects/group%2Flb/statuses/${
                    p2.after}`);
                assert.equal(r.headers['private-token'], LT);
                assert.equal(r.headers.authorization, undefined);
                assert.ok(['pending', 'running', 'success', 'failed',
                    'canceled'].includes(s.state), `gitlab state ${s.state}`);
                assert.ok('name' in r.body,
                    `gitlab body has no name: ${r.raw}`);
                assert.ok(r.body.target_url?.startsWith(
                    `${PUBLIC}/api/v1/runs/`), `gitlab target_url ${
                    r.body.target_url}`);
            }
            assert.equal(lastOf(gitlab, 'paved/ci'), 'success');
            assert.equal(lastOf(gitlab, 'paved/bad'), 'failed');
            assert.deepEqual(orderProblems(gitea.statuses()), []);
            assert.deepEqual(orderProblems(gitlab.statuses(),
                ['success', 'failed', 'canceled']), []);
            assertNoTokenInOutput(d, [GT, LT, TOKEN]);
        });
    } catch (e) {
        addContext(e, `--- gitea ---\n${gitea.describe()}\n--- gitlab ---\n${
            gitlab.describe()}`);
        throw e;
    } finally {
        await gitea.close();
        await gitlab.close();
    }
});
