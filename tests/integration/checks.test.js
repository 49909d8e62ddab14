// [checks] Issue 4, "Tests": check runs of real runs, with paved configured as
// a GitHub App (PAVED_GITHUB_APP_ID, PAVED_GITHUB_APP_KEY_FILE or _KEY,
// PAVED_GITHUB_API_URL; no PAVED_GITHUB_TOKEN).
// Which GitHub server: every test uses the HAND-WRITTEN FAKE of
// lib/ghapp-forge.js (no @octokit/fixtures-server scenario covers Apps or
// check runs; ghapp-forge.test.js proves that and tests the fake itself). It
// verifies the App's JWT (RS256 with the App's public key, iss, iat, exp),
// issues installation tokens and refuses any other credential, and validates
// every body against GitHub's published OpenAPI description (npm
// @octokit/openapi: apps/get-repo-installation,
// apps/create-installation-access-token, checks/create, checks/update) plus
// GitHub's documented rules beyond the schema; a body that does not conform
// is answered 422 and listed by gh.schemaErrors().
// Covered: push -> run -> one check run paved/<pipeline> on the SHA, created
// then completed success, details_url, one installation lookup and one token
// exchange, the JWT verified by the openssl CLI; a failing run -> failure
// with the failing step's last log lines (masked) in output.text; 120
// annotations -> all arrive, <= 50 a request; > 70 000 bytes of log -> text
// cut to 65535 bytes with the note; token reuse across runs, and a new
// exchange once the token has < 300 s left; an App not installed -> the
// outbox row `failed` saying so; GitHub Enterprise /api/v3; a 401 -> a new
// token and the check run completes; kill -9 with updates pending -> each
// check run completed once, no duplicates; cancelled and skipped; the key,
// JWTs and tokens never in paved's output or data dir. $PAVED_SUMMARY
// (issue 7: the canary's verdict on the forge): in a run that succeeds and
// in one that fails, the summaries first in output.text (before the failed
// step's log tail), secrets masked in them and in annotations; a summary
// over 32 KiB cut to its first 32 KiB on a character boundary, the text
// still <= 65535 bytes; a FIFO or a symlink at its name neither blocks
// paved nor publishes what it points to.
// Each test owns its daemon, repositories, fake and temp dirs. No timed
// assertions: the tests poll for what GitHub would show.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startDaemon } from './lib/daemon.js';
import { outbox, releaseGate, reportPipeline, settle } from './lib/forge.js';
import {
    appAnswers, checkRunProblems, GH_ACCEPT, GH_API_VERSION, withAppForge,
} from './lib/ghapp-forge.js';
import { request, sleep } from './lib/http.js';
import {
    assertRunState, listRuns, pushAndDeliver, runLog, waitDone, waitFor,
    waitRuns, waitState, walkFiles, yq,
} from './lib/runs.js';

const T = { timeout: 300_000 };
const PUBLIC = 'https://paved.example.test';
const INST = 4242;
const CUT_NOTE = '\n\n_(cut by paved: GitHub keeps 65535 bytes; the rest ' +
    'is in paved)_';
const bytes = (s) => Buffer.byteLength(String(s), 'utf8');

// ------------------------------------------------------------ helpers

function appEnv(ctx, gh, extra = {}) {
    return { ...gh.env({ keyFile: ctx.keyFile, publicUrl: PUBLIC }),
        ...extra };
}

// The exact request GitHub's check-run endpoints want, per the spec:
// headers, compact body, key order, schema, GitHub's limits.
const BODY_ORDER = ['name', 'head_sha', 'details_url', 'external_id',
    'status', 'conclusion', 'output'];

function assertCheckRequest(rec, { repo, prefix = '' }) {
    const where = `#${rec.seq} ${rec.method} ${rec.url}`;
    if (rec.op === 'create') {
        assert.equal(rec.method, 'POST', where);
        assert.equal(rec.url, `${prefix}/repos/${repo}/check-runs`, where);
    } else {
        assert.equal(rec.op, 'update', where);
        assert.equal(rec.method, 'PATCH', where);
        assert.match(rec.url, new RegExp(`^${prefix}/repos/${repo}/` +
            'check-runs/\\d+$'), where);
    }
    assert.equal(rec.headers.accept, GH_ACCEPT, `${where}: Accept`);
    assert.equal(rec.headers['user-agent'], 'paved', `${where}: User-Agent`);
    assert.equal(rec.headers['x-github-api-version'], GH_API_VERSION,
        `${where}: X-GitHub-Api-Version`);
    assert.equal(rec.headers['content-type'],
        'application/json; charset=utf-8', `${where}: Content-Type`);
    assert.match(String(rec.headers.authorization), /^token ghs_\S+$/,
        `${where}: Authorization`);
    assert.equal(rec.raw, JSON.stringify(rec.body),
        `${where}: the body is not compact JSON: ${rec.raw.slice(0, 300)}`);
    const keys = Object.keys(rec.body);
    assert.deepEqual(keys, BODY_ORDER.filter((k) => k in rec.body),
        `${where}: body keys ${keys}`);
    if (rec.op === 'update')
        assert.ok(!('head_sha' in rec.body), `${where}: head_sha in a PATCH`);
    assert.deepEqual(rec.schemaErrors, [], `${where} does not conform: ` +
        rec.schemaErrors.join('; '));
    const out = rec.body.output;
    assert.ok(out && typeof out.title === 'string' &&
        typeof out.summary === 'string', `${where}: output title+summary`);
    assert.ok(!/[\r\n]/.test(out.title), `${where}: a title of more than ` +
        `one line: ${JSON.stringify(out.title)}`);
    assert.ok([...out.title].length <= 255, `${where}: title over 255`);
    for (const k of ['summary', 'text']) {
        if (out[k] !== undefined)
            assert.ok(bytes(out[k]) <= 65535, `${where}: output.${k} is ` +
                `${bytes(out[k])} bytes`);
    }
    const nAnn = (out.annotations ?? []).length;
    assert.ok(nAnn <= 50, `${where}: ${nAnn} annotations`);
    assert.ok(bytes(rec.raw) < 1024 * 1024, `${where}: body over 1 MiB`);
}

// The App's own requests: GET installation and POST access_tokens with a
// JWT that verifies (the fake checked it; 2xx means it did).
function assertAppRequests(gh, { prefix = '' } = {}) {
    for (const r of [...gh.lookups(), ...gh.exchanges()]) {
        const where = `#${r.seq} ${r.method} ${r.url}`;
        assert.equal(r.headers.accept, GH_ACCEPT, `${where}: Accept`);
        assert.equal(r.headers['user-agent'], 'paved', where);
        assert.equal(r.headers['x-github-api-version'], GH_API_VERSION,
            where);
        assert.match(String(r.headers.authorization),
            /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, `${where}: Authorization`);
        assert.ok(r.auth.ok, `${where}: the JWT was refused: ${r.auth.why}`);
        assert.ok(r.url.startsWith(`${prefix}/`), where);
        if (r.op === 'accessToken')
            assert.equal(r.raw, '', `${where}: a body on the exchange`);
        else
            assert.equal(r.method, 'GET', where);
    }
}

// paved's look-ups of a commit's check runs (before it creates one):
// headers, the installation token, a query GitHub's description names.
function assertListRequests(gh, { repo, prefix = '' }) {
    for (const r of gh.listRequests()) {
        const where = `#${r.seq} ${r.method} ${r.url}`;
        assert.ok(r.path.startsWith(`/repos/${repo}/commits/`) &&
            r.url.startsWith(`${prefix}/`), where);
        assert.equal(r.headers.accept, GH_ACCEPT, `${where}: Accept`);
        assert.equal(r.headers['user-agent'], 'paved', where);
        assert.equal(r.headers['x-github-api-version'], GH_API_VERSION,
            where);
        assert.ok(r.auth.ok, `${where}: ${r.auth.why}`);
        assert.deepEqual(r.schemaErrors, [], where);
        assert.equal(r.raw, '', `${where}: a body on a GET`);
    }
}

// Verifies one JWT with the openssl CLI against the App's public key (an
// oracle that shares no code with the fake's node:crypto check).
function opensslVerify(ctx, gh, jwt) {
    const [h, p, s] = jwt.split('.');
    const dir = fs.mkdtempSync(path.join(ctx.tmp, 'jwt-'));
    fs.writeFileSync(path.join(dir, 'pub.pem'), gh.publicKey);
    fs.writeFileSync(path.join(dir, 'data'), `${h}.${p}`);
    fs.writeFileSync(path.join(dir, 'sig'), Buffer.from(s, 'base64url'));
    return execFileSync('openssl', ['dgst', '-sha256', '-verify',
        path.join(dir, 'pub.pem'), '-signature', path.join(dir, 'sig'),
        path.join(dir, 'data')], { encoding: 'utf8' });
}

// A check run of a run, once the fake holds it in one of the statuses.
async function waitCheckRun(gh, { repo, id, name }, statuses = ['completed']) {
    let cr;
    await gh.waitFor(`the check run of run ${id} (${name}) in ` +
        statuses.join('|'), () => {
        cr = gh.find({ repo, external_id: id })[0];
        return cr && statuses.includes(cr.status);
    });
    return cr;
}

// Every secret-ish value the daemon handled as an App: the key (the one-
// line form, and each line and a long slice of its base64 body), the JWTs
// and tokens the fake saw.
function appSecrets(gh) {
    const pem = gh.privateKey;
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const joined = body.join('');
    const out = new Set([pem.trim().replace(/\n/g, '\\n'), ...body,
        joined.slice(100, 164)]);
    for (const r of gh.requests) {
        if (r.auth.jwt)
            out.add(r.auth.jwt);
        if (r.auth.token)
            out.add(r.auth.token);
        if (r.issuedToken)
            out.add(r.issuedToken);
    }
    return [...out].filter((s) => s.length >= 16);
}

function leaksIn(where, text, secrets) {
    return secrets.filter((s) => text.includes(s)).map((s) =>
        `${where} holds ${s.slice(0, 24)}…`);
}

// One step that waits for $OUT/release-<name>, then exits with exit.
function gatedPipeline(ctx, name, { exit = 0, branches = ['main'] } = {}) {
    ctx.pipeline(`${name}.yaml`, `name: ${name}
on:
  push: {branches: ${JSON.stringify(branches)}}
env:
  OUT: ${yq(ctx.out)}
steps:
  - name: work
    run: ${yq(`while [ ! -e "$OUT/release-${name}" ]; do sleep 0.1; done; ` +
        `echo "${name} done"; exit ${exit}`)}
`);
}

// ------------------------------------------------------------- tests

test('END-TO-END [hand-written FAKE GitHub App, OpenAPI-validated]: push ' +
    '-> run -> one check run paved/<pipeline> on the head SHA, created then ' +
    'completed success, details_url and external_id; one installation ' +
    'lookup, one token exchange; the JWT verifies with openssl',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/web'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'ci', { gate: true });
        const repo = ctx.repo('acme/web');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        await waitState(d, listed.id, 'running');
        // while the step runs, GitHub shows the check run in progress
        const open = await waitCheckRun(gh, { repo: 'acme/web',
            id: listed.id, name: 'paved/ci' }, ['queued', 'in_progress']);
        assert.equal(open.name, 'paved/ci');
        releaseGate(ctx, 'ci');
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await waitCheckRun(gh, { repo: 'acme/web', id: run.id,
            name: 'paved/ci' });
        await settle(d, gh);

        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(gh.headerProblems(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run, repo: 'acme/web' }],
            { publicUrl: PUBLIC }), []);
        const crs = gh.checkRuns();
        assert.equal(crs.length, 1, 'one check run');
        const cr = crs[0];
        assert.equal(cr.head_sha, sha);
        assert.equal(cr.name, 'paved/ci');
        assert.equal(cr.status, 'completed');
        assert.equal(cr.conclusion, 'success');
        assert.equal(cr.details_url, `${PUBLIC}/api/v1/runs/${run.id}`);
        assert.equal(cr.external_id, String(run.id));
        assert.ok(cr.transitions.length >= 2 &&
            cr.transitions[0].status !== 'completed',
        `created, then completed: ${JSON.stringify(cr.transitions)}`);
        assert.match(cr.output.summary, /\|/, 'the summary is a table');
        assert.ok(cr.output.summary.includes('work'),
            `the summary names the step: ${cr.output.summary}`);
        assert.ok(cr.output.title.length > 0);
        // requests: lookup, exchange, then POST and PATCH(es) of that id
        const checks = gh.checkRequests();
        assert.equal(checks[0].op, 'create');
        assert.ok(checks.slice(1).every((r) => r.op === 'update' &&
            r.route.checkRunId === cr.id), 'PATCHes of the created id');
        for (const r of checks)
            assertCheckRequest(r, { repo: 'acme/web' });
        assert.equal(gh.lookups().length, 1, 'one installation lookup');
        assert.equal(gh.exchanges().length, 1, 'one token exchange');
        assert.equal(gh.lookups()[0].route.repo, 'acme/web');
        assert.equal(gh.exchanges()[0].route.installationId, INST);
        assert.ok(gh.lookups()[0].seq < gh.exchanges()[0].seq &&
            gh.exchanges()[0].seq < checks[0].seq, 'lookup, exchange, check');
        assertAppRequests(gh);
        assertListRequests(gh, { repo: 'acme/web' });
        const jwt = gh.exchanges()[0].auth;
        assert.match(opensslVerify(ctx, gh, jwt.jwt), /Verified OK/);
        assert.equal(jwt.header.alg, 'RS256');
        assert.equal(String(jwt.claims.iss), gh.appId);
        assert.ok(jwt.claims.exp - jwt.claims.iat <= 600,
            `exp - iat = ${jwt.claims.exp - jwt.claims.iat}`);
        // nothing but the App's routes: no commit status without a token
        assert.deepEqual(gh.requests.filter((r) => !r.route).map((r) =>
            `${r.method} ${r.url}`), []);
        // the outbox: sent, nothing pending or failed
        assert.deepEqual(await outbox(d), []);
        const sent = await outbox(d, 'sent');
        assert.equal(sent.length, 1, JSON.stringify(sent));
        assert.equal(sent[0].run, run.id);
        assert.equal(sent[0].sha, sha);
    }));

test('a failing run [FAKE GitHub App, OpenAPI-validated]: conclusion ' +
    'failure; output.text holds the failing step\'s last log lines, masked ' +
    '(the secret never reaches GitHub)',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/api'] } },
    async (ctx, gh) => {
        const secret = `Sk-${crypto.randomBytes(16).toString('hex')}`;
        ctx.pipeline('unit.yaml', `name: unit
on: {push: {branches: [main]}}
secrets: [DEPLOY_TOKEN]
steps:
  - name: prepare
    run: echo "prepare-only-line-ok"
  - name: test
    needs: [prepare]
    run: |
      i=1
      while [ $i -le 30 ]; do echo "test output line $i"; i=$((i+1)); done
      echo "token is $DEPLOY_TOKEN"
      echo "FAILED: expected 2, got 3 (tests/t_math.c:42)" >&2
      exit 3
`);
        const repo = ctx.repo('acme/api');
        const d = await ctx.start(appEnv(ctx, gh,
            { PAVED_SECRET_DEPLOY_TOKEN: secret }));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'failure');
        const cr = await waitCheckRun(gh, { repo: 'acme/api', id: run.id,
            name: 'paved/unit' });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run, repo: 'acme/api' }],
            { publicUrl: PUBLIC }), []);
        assert.equal(cr.conclusion, 'failure');
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/api' });
        const text = cr.output.text;
        assert.equal(typeof text, 'string', 'a failed run has output.text');
        for (const want of ['FAILED: expected 2, got 3 (tests/t_math.c:42)',
            'test output line 30', 'token is ***'])
            assert.ok(text.includes(want), `output.text lacks ${
                JSON.stringify(want)}:\n${text}`);
        assert.ok(!text.includes('prepare-only-line-ok'),
            `output.text holds a passing step's log:\n${text}`);
        assert.ok(cr.output.title.length > 0);
        // the secret: nowhere in what GitHub got, nor in paved's output
        const forms = [secret, Buffer.from(secret).toString('base64')
            .replace(/=+$/, '')];
        for (const r of gh.requests) {
            for (const f of forms)
                assert.ok(!r.raw.includes(f), `#${r.seq} carries the secret`);
        }
        assert.deepEqual(leaksIn('paved output', d.stderr() + d.stdout(),
            forms), []);
        // the run's own log has the lines the text was made of
        const log = await runLog(d, run.id, { step: 'test' });
        assert.ok(log.includes('test output line 30'), log);
    }));

test('annotations [FAKE GitHub App, OpenAPI-validated]: a step writes 120 ' +
    'to "$PAVED_ANNOTATIONS" -> all 120 arrive on the check run at their ' +
    'path and lines, in requests of at most 50, none twice',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/lint'] } },
    async (ctx, gh) => {
        const levels = ['notice', 'warning', 'failure'];
        const want = Array.from({ length: 120 }, (_, i) => {
            const a = { path: `src/mod${i % 7}/file${i}.c`,
                start_line: i + 1, end_line: i + 1 + (i % 3),
                annotation_level: levels[i % 3],
                message: `finding ${i}: something to look at` };
            if (i % 4 === 0)
                a.title = `rule R${i}`;
            return a;
        });
        fs.writeFileSync(path.join(ctx.out, 'ann.jsonl'),
            want.map((a) => JSON.stringify(a)).join('\n') + '\n');
        ctx.pipeline('lint.yaml', `name: lint
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: scan
    run: |
      test -n "$PAVED_ANNOTATIONS"
      cat "$OUT/ann.jsonl" >> "$PAVED_ANNOTATIONS"
      echo "wrote 120 annotations"
`);
        const repo = ctx.repo('acme/lint');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await gh.waitFor('120 annotations on the check run', () =>
            gh.find({ external_id: run.id })[0]?.annotations.length >= 120);
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/lint' }], { publicUrl: PUBLIC }), []);
        const cr = gh.find({ external_id: run.id })[0];
        const key = (a) => `${a.path}:${a.start_line}-${a.end_line} ` +
            `${a.annotation_level} ${a.message} ${a.title ?? ''}`;
        const got = cr.annotations.map(key);
        assert.equal(new Set(got).size, got.length, 'an annotation twice');
        assert.deepEqual([...got].sort(), want.map(key).sort());
        const sizes = gh.checkRequests().filter((r) =>
            r.body?.output?.annotations).map((r) => ({ seq: r.seq,
            n: r.body.output.annotations.length,
            status: r.body.status, answer: r.answer?.status }));
        t.diagnostic(`annotation requests: ${JSON.stringify(sizes)}`);
        assert.ok(sizes.every((s) => s.n <= 50), JSON.stringify(sizes));
        assert.equal(sizes.filter((s) => s.answer < 300).length, 3,
            `120 annotations in 3 accepted requests: ${JSON.stringify(sizes)}`);
        // they come with the final state: every request that carries one
        // says completed/success
        for (const r of gh.checkRequests().filter((x) =>
            x.body?.output?.annotations)) {
            assertCheckRequest(r, { repo: 'acme/lint' });
            assert.equal(r.body.status, 'completed', `#${r.seq}`);
            assert.equal(r.body.conclusion, 'success', `#${r.seq}`);
        }
    }));

test('annotation files as steps really write them [FAKE GitHub App, ' +
    'OpenAPI-validated]: a line that is not JSON and one GitHub would refuse ' +
    'are skipped and noted in the run\'s log, absolute workspace paths and ' +
    '"./" become repository paths, at most 1000 a run',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/ann'] } },
    async (ctx, gh) => {
        const good = Array.from({ length: 1005 }, (_, i) => ({
            path: `lib/g${i}.js`, start_line: 1 + i, end_line: 1 + i,
            annotation_level: 'notice', message: `g${i}` }));
        fs.writeFileSync(path.join(ctx.out, 'good.jsonl'),
            good.map((a) => JSON.stringify(a)).join('\n') + '\n');
        // @WS@ becomes the step's working directory (the checkout)
        const special = ['this is not JSON',
            { path: 'a.c', start_line: 1, end_line: 1,
                annotation_level: 'error', message: 'bad level' },
            { path: '@WS@/src/abs.c', start_line: 3, end_line: 3,
                annotation_level: 'warning', message: 'absolute' },
            { path: './src/dot.c', start_line: 4, end_line: 4,
                start_column: 2, end_column: 9, annotation_level: 'failure',
                message: 'dot' }];
        fs.writeFileSync(path.join(ctx.out, 'special.jsonl'), special.map(
            (a) => (typeof a === 'string' ? a : JSON.stringify(a)))
            .join('\n') + '\n');
        ctx.pipeline('ann.yaml', `name: ann
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: scan
    run: |
      sed "s|@WS@|$PWD|" "$OUT/special.jsonl" >> "$PAVED_ANNOTATIONS"
      cat "$OUT/good.jsonl" >> "$PAVED_ANNOTATIONS"
`);
        const repo = ctx.repo('acme/ann');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await gh.waitFor('1000 annotations', () =>
            gh.find({ external_id: run.id })[0]?.annotations.length >= 1000,
        { timeoutMs: 180_000 });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run, repo: 'acme/ann' }],
            { publicUrl: PUBLIC }), []);
        const cr = gh.find({ external_id: run.id })[0];
        assert.equal(cr.annotations.length, 1000, 'at most 1000 a run');
        const byMsg = new Map(cr.annotations.map((a) => [a.message, a]));
        assert.equal(byMsg.size, 1000, 'an annotation twice');
        assert.equal(byMsg.get('absolute')?.path, 'src/abs.c',
            `absolute path: ${JSON.stringify(byMsg.get('absolute'))}`);
        assert.equal(byMsg.get('dot')?.path, 'src/dot.c');
        assert.equal(byMsg.get('dot')?.start_column, 2);
        assert.ok(!byMsg.has('bad level'), 'a refused annotation was sent');
        // the first 998 good ones fill the run's 1000
        for (let i = 0; i < 998; i++)
            assert.ok(byMsg.has(`g${i}`), `g${i} is missing`);
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/ann' });
        const log = await runLog(d, run.id);
        assert.match(log, /annotations line 1 skipped: /,
            'the run\'s log does not say a line was skipped');
    }));

test('kill -9 between annotation batches [FAKE GitHub App, OpenAPI-' +
    'validated]: the second batch refused (503), paved killed and restarted ' +
    '-> the rest arrive, every annotation exactly once',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/batch'] } },
    async (ctx, gh) => {
        const want = Array.from({ length: 120 }, (_, i) => ({
            path: `src/b${i}.py`, start_line: i + 1, end_line: i + 1,
            annotation_level: 'warning', message: `batch finding ${i}` }));
        fs.writeFileSync(path.join(ctx.out, 'ann.jsonl'),
            want.map((a) => JSON.stringify(a)).join('\n') + '\n');
        ctx.pipeline('lint.yaml', `name: lint
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: scan
    run: cat "$OUT/ann.jsonl" >> "$PAVED_ANNOTATIONS"
`);
        let batches = 0;
        gh.onRequest((rec) => {
            if (!rec.body?.output?.annotations)
                return undefined;
            batches++;
            return batches >= 2 ? appAnswers.serverError(503) : undefined;
        });
        const repo = ctx.repo('acme/batch');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await waitFor('the second batch to be refused', async () =>
            batches >= 2 && (await outbox(d, 'pending')).some((r) =>
                r.attempts >= 1), { describe: async () =>
            JSON.stringify(await outbox(d)) });
        const held = gh.find({ external_id: run.id })[0];
        assert.equal(held?.annotations.length, 50, 'the first batch');
        await d.kill9();
        gh.healthy();
        await d.restart();
        await gh.waitFor('120 annotations', () =>
            gh.find({ external_id: run.id })[0]?.annotations.length >= 120);
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/batch' }], { publicUrl: PUBLIC }), []);
        const got = gh.find({ external_id: run.id })[0].annotations
            .map((a) => a.message);
        assert.equal(got.length, 120, `${got.length} annotations (a batch ` +
            'sent twice?)');
        assert.deepEqual([...got].sort(), want.map((a) => a.message).sort());
        assert.deepEqual(await outbox(d), []);
    }));

test('replay [FAKE GitHub App]: a new run of the same pipeline on the same ' +
    'SHA gets a new check run; the first stays as it was',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/rp'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'ci');
        const repo = ctx.repo('acme/rp');
        const d = await ctx.start(appEnv(ctx, gh));
        const first = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [r1] = await waitRuns(d, { sha: first.sha }, 1);
        const run1 = await waitDone(d, r1.id);
        await waitCheckRun(gh, { repo: 'acme/rp', id: run1.id,
            name: 'paved/ci' });
        await settle(d, gh);
        const rp = await request(`${d.url}/api/v1/deliveries/` +
            `${first.delivery}/replay`, { method: 'POST' });
        assert.equal(rp.status, 202, rp.text);
        const run2 = await waitDone(d, rp.json.runs[0]);
        await waitCheckRun(gh, { repo: 'acme/rp', id: run2.id,
            name: 'paved/ci' });
        await settle(d, gh);
        const runs = [run1, run2].map((r) => ({ ...r, repo: 'acme/rp' }));
        assert.deepEqual(checkRunProblems(gh, runs, { publicUrl: PUBLIC }),
            []);
        const crs = gh.find({ sha: first.sha, name: 'paved/ci' });
        assert.equal(crs.length, 2, 'two check runs');
        assert.deepEqual(crs.map((c) => c.external_id),
            [String(run1.id), String(run2.id)]);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.equal(gh.exchanges().length, 1);
    }));

test('a huge log [FAKE GitHub App, OpenAPI-validated]: failing steps ' +
    'printing > 70 000 bytes each -> output.text <= 65535 bytes, valid ' +
    'UTF-8, holding the first failed step\'s last line and ending with ' +
    'paved\'s cut note',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/big'] } },
    async (ctx, gh) => {
        // six independent failing steps, each printing 20 lines of ~5 000
        // bytes of 3-byte characters (a byte cut would split one): paved
        // keeps a tail of each failed step's log, and six tails are more
        // than GitHub's 65535 bytes
        const N = 6;
        for (let k = 1; k <= N; k++) {
            const lines = Array.from({ length: 20 }, (_, i) =>
                `S${k}L${i} ${'€'.repeat(1660)} end`);
            const big = `${lines.join('\n')}\n`;
            assert.ok(bytes(big) > 70_000);
            fs.writeFileSync(path.join(ctx.out, `big${k}.txt`), big);
        }
        ctx.pipeline('big.yaml', `name: big
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
${Array.from({ length: N }, (_, i) => `  - name: spew${i + 1}
    run: |
      cat "$OUT/big${i + 1}.txt"
      exit 1
`).join('')}`);
        const repo = ctx.repo('acme/big');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'failure');
        const cr = await waitCheckRun(gh, { repo: 'acme/big', id: run.id,
            name: 'paved/big' });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/big' });
        assert.equal(cr.conclusion, 'failure');
        const text = cr.output.text;
        assert.equal(typeof text, 'string');
        t.diagnostic(`output.text: ${bytes(text)} bytes`);
        assert.ok(bytes(text) <= 65535, `${bytes(text)} bytes`);
        assert.ok(text.endsWith(CUT_NOTE), `no cut note at the end: ${
            JSON.stringify(text.slice(-120))}`);
        assert.ok(!text.includes('\uFFFD'), 'a character was split');
        assert.ok(text.includes('S1L19 €'), 'the first failed step\'s ' +
            'last line is not in the text');
        assert.ok(bytes(text) > 60_000, `cut far below the limit: ${
            bytes(text)} bytes`);
        assert.ok(bytes(cr.output.summary) <= 65535);
        for (let k = 1; k <= N; k++)
            assert.ok(cr.output.summary.includes(`spew${k}`),
                `the summary lacks spew${k}`);
    }));

// ------------------------------------- $PAVED_SUMMARY (issue 7: a verdict)

// The section sched_output_text() makes of one step's summary file.
const summarySection = (step, md) => `### ${step}\n\n${md}` +
    (md.endsWith('\n') ? '\n' : '\n\n');

// A canary's analysis as the canary step writes it: printf, as a user's
// script would, "%%" for a percent sign.
const CANARY_MD = '### Canary at 5%\n' +
    '| check | value | threshold | samples | result |\n' +
    '| --- | --- | --- | --- | --- |\n' +
    '| error rate | 0.2% | < 1% | 412 | pass |\n' +
    '| p99 latency | 180 ms | < 300 ms | 412 | pass |\n' +
    '\n**Decision:** continue to 25%\n';
const CANARY_PRINTF = `printf '${CANARY_MD.replace(/%/g, '%%')
    .replace(/\n/g, '\\n')}' >> "$PAVED_SUMMARY"`;

// An annotation whose message holds $DEPLOY_TOKEN.
const ANN_PRINTF = `printf '${JSON.stringify({ path: 'README', start_line: 1,
    end_line: 1, annotation_level: 'notice', message: 'token %s' })}\\n' ` +
    '"$DEPLOY_TOKEN" >> "$PAVED_ANNOTATIONS"';

test('$PAVED_SUMMARY in a run that succeeds [FAKE GitHub App, OpenAPI-' +
    'validated]: output.text is the steps\' summaries, in step order, each ' +
    'under its step\'s name, the secret masked (in an annotation too); ' +
    'nothing for a step that wrote none, no log tail; the check run ' +
    'completes once, success',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/shop'] } },
    async (ctx, gh) => {
        const secret = `Sk-${crypto.randomBytes(16).toString('hex')}`;
        ctx.pipeline('deliver.yaml', `name: deliver
on: {push: {branches: [main]}}
secrets: [DEPLOY_TOKEN]
steps:
  - name: build
    run: echo "build-log-line-only"
  - name: canary
    needs: [build]
    run: |
      test -n "$PAVED_SUMMARY"
      ${CANARY_PRINTF}
      echo "canary-log-line-only"
  - name: smoke
    needs: [canary]
    run: |
      echo "smoke: 3 of 3 passed" >> "$PAVED_SUMMARY"
      echo "used token $DEPLOY_TOKEN" >> "$PAVED_SUMMARY"
      ${ANN_PRINTF}
`);
        const repo = ctx.repo('acme/shop');
        const d = await ctx.start(appEnv(ctx, gh,
            { PAVED_SECRET_DEPLOY_TOKEN: secret }));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        const cr = await waitCheckRun(gh, { repo: 'acme/shop', id: run.id,
            name: 'paved/deliver' });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/shop' }], { publicUrl: PUBLIC }), []);
        assert.equal(cr.conclusion, 'success');
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/shop' });
        const text = cr.output.text;
        assert.equal(typeof text, 'string', 'no output.text');
        assert.equal(text, summarySection('canary', CANARY_MD) +
            summarySection('smoke', 'smoke: 3 of 3 passed\n' +
                'used token ***\n'));
        for (const no of ['build-log-line-only', 'canary-log-line-only',
            'last lines', '### build'])
            assert.ok(!text.includes(no), `output.text holds ${no}`);
        // the annotation a step wrote with the secret in it: masked too
        assert.deepEqual(cr.annotations.map((a) => a.message),
            ['token ***']);
        // the secret: in no request, in paved's output neither
        for (const r of gh.requests)
            assert.ok(!r.raw.includes(secret), `#${r.seq} carries it`);
        assert.ok(!(d.stderr() + d.stdout()).includes(secret));
    }));

test('$PAVED_SUMMARY in a run that fails [FAKE GitHub App, OpenAPI-' +
    'validated]: the failing canary\'s verdict comes first in output.text, ' +
    'then its log\'s last lines; the check run completes once, failure',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/shop'] } },
    async (ctx, gh) => {
        const failMd = CANARY_MD.replace('0.2% | < 1% | 412 | pass',
            '7.5% | < 1% | 398 | **fail**').replace('continue to 25%',
            'roll back');
        const printf = CANARY_PRINTF.replace(/0\.2%% \| < 1%% \| 412 \| pass/,
            '7.5%% | < 1%% | 398 | **fail**').replace('continue to 25%%',
            'roll back');
        assert.notEqual(printf, CANARY_PRINTF);
        ctx.pipeline('deliver.yaml', `name: deliver
on: {push: {branches: [main]}}
steps:
  - name: build
    run: echo "build-log-line-only"
  - name: canary
    needs: [build]
    run: |
      ${printf}
      i=1
      while [ $i -le 5 ]; do echo "canary log line $i"; i=$((i+1)); done
      echo "error rate 7.5% over 1%: rolled back" >&2
      exit 1
`);
        const repo = ctx.repo('acme/shop');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'failure');
        const cr = await waitCheckRun(gh, { repo: 'acme/shop', id: run.id,
            name: 'paved/deliver' });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/shop' }], { publicUrl: PUBLIC }), []);
        assert.equal(cr.conclusion, 'failure');
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/shop' });
        const text = cr.output.text;
        assert.equal(typeof text, 'string', 'no output.text');
        const verdict = summarySection('canary', failMd);
        assert.ok(text.startsWith(verdict), `the verdict is not first:\n${
            text}`);
        const tail = text.indexOf('### canary: the log\'s last lines');
        assert.ok(tail >= verdict.length, `no log tail after the verdict:\n${
            text}`);
        for (const want of ['canary log line 5',
            'error rate 7.5% over 1%: rolled back'])
            assert.ok(text.indexOf(want) > tail, `${want} not in the tail:\n${
                text}`);
        assert.ok(!text.includes('build-log-line-only'));
    }));

test('$PAVED_SUMMARY over 32 KiB [FAKE GitHub App, OpenAPI-validated]: ' +
    'only its first 32 KiB are shown, no character split; two of them and ' +
    'a failed step\'s log -> output.text <= 65535 bytes with the cut note',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/big'] } },
    async (ctx, gh) => {
        // A: 65-byte lines of 3-byte characters; 32768 = 504 * 65 + 8, so
        // the cut falls inside a character of line 505
        const lineA = (i) => `A${String(i).padStart(5, '0')} ` +
            `${'€'.repeat(19)}\n`;
        const A = Array.from({ length: 700 }, (_, i) => lineA(i + 1))
            .join('');
        const lineB = (i) => `B${String(i).padStart(5, '0')} ` +
            `${'x'.repeat(56)}\n`;
        const B = Array.from({ length: 700 }, (_, i) => lineB(i + 1))
            .join('');
        assert.equal(bytes(lineA(1)), 65);
        assert.ok(bytes(A) > 40_000 && bytes(B) > 40_000);
        fs.writeFileSync(path.join(ctx.out, 'a.md'), A);
        fs.writeFileSync(path.join(ctx.out, 'b.md'), B);
        ctx.pipeline('big.yaml', `name: big
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: sum-a
    run: cat "$OUT/a.md" >> "$PAVED_SUMMARY"
  - name: sum-b
    needs: [sum-a]
    run: cat "$OUT/b.md" >> "$PAVED_SUMMARY"
  - name: fail
    needs: [sum-b]
    run: |
      echo "the failing step's own line"
      exit 1
`);
        const repo = ctx.repo('acme/big');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'failure');
        const cr = await waitCheckRun(gh, { repo: 'acme/big', id: run.id,
            name: 'paved/big' });
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/big' }], { publicUrl: PUBLIC }), []);
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/big' });
        const text = cr.output.text;
        assert.equal(typeof text, 'string');
        t.diagnostic(`output.text: ${bytes(text)} bytes`);
        assert.ok(bytes(text) <= 65535, `${bytes(text)} bytes`);
        assert.ok(text.endsWith(CUT_NOTE), `no cut note at the end: ${
            JSON.stringify(text.slice(-120))}`);
        assert.ok(!text.includes('\uFFFD'), 'a character was split');
        // A: its first 32 KiB, whole, then B's section
        const headA = '### sum-a\n\n';
        const a = text.indexOf(headA);
        const b = text.indexOf('### sum-b\n\n');
        assert.equal(a, 0, 'A\'s summary is not first');
        assert.ok(b > a, 'no section for B');
        const bodyA = text.slice(a + headA.length, b);
        assert.ok(bodyA.endsWith('\n\n'), JSON.stringify(bodyA.slice(-40)));
        const shownA = bodyA.slice(0, -2);
        assert.ok(A.startsWith(shownA), 'A is not shown as written');
        assert.ok(bytes(shownA) <= 32 * 1024 && bytes(shownA) >= 32 * 1024 -
            2, `A shows ${bytes(shownA)} bytes, not its first 32 KiB`);
        assert.ok(text.includes(lineA(504)), 'A\'s line 504 is not whole');
        assert.ok(!text.includes('A00506'), 'A is shown past 32 KiB');
        assert.ok(text.includes(lineB(1)), 'B\'s first line is missing');
        // the whole of both would be > 65535 bytes: the end went, the
        // failed step's tail with it
        assert.ok(!text.includes('the failing step\'s own line'));
        assert.ok(bytes(text) > 60_000, `cut far below the limit: ${
            bytes(text)} bytes`);
    }));

test('$PAVED_SUMMARY replaced by a FIFO or a symlink [FAKE GitHub App]: ' +
    'paved does not block on it nor publish what it points to; the check ' +
    'run completes once and the daemon still serves',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/odd'] } },
    async (ctx, gh) => {
        const target = path.join(ctx.out, 'not-for-github.txt');
        fs.writeFileSync(target, 'PRIVATE-FILE-CONTENT\n');
        ctx.pipeline('odd.yaml', `name: odd
on: {push: {branches: [main]}}
env: {OUT: ${yq(ctx.out)}}
steps:
  - name: fifo
    run: |
      rm -f "$PAVED_SUMMARY" "$PAVED_ANNOTATIONS"
      mkfifo "$PAVED_SUMMARY" "$PAVED_ANNOTATIONS"
  - name: link
    run: |
      rm -f "$PAVED_SUMMARY"
      ln -s "$OUT/not-for-github.txt" "$PAVED_SUMMARY"
  - name: plain
    needs: [fifo, link]
    run: echo "plain summary" >> "$PAVED_SUMMARY"
`);
        const repo = ctx.repo('acme/odd');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        const cr = await waitCheckRun(gh, { repo: 'acme/odd', id: run.id,
            name: 'paved/odd' });
        await settle(d, gh);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/odd' }], { publicUrl: PUBLIC }), []);
        assert.equal(cr.output.text, summarySection('plain',
            'plain summary\n'));
        for (const r of gh.requests)
            assert.ok(!r.raw.includes('PRIVATE-FILE-CONTENT'),
                `#${r.seq} carries the symlink's target`);
        // the daemon answers
        const again = await listRuns(d, { sha });
        assert.equal(again.length, 1);
    }));

test('token reuse [FAKE GitHub App]: two runs in a row use one installation ' +
    'lookup and one token exchange (the token lives an hour)',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/reuse'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'ci');
        const repo = ctx.repo('acme/reuse');
        const d = await ctx.start(appEnv(ctx, gh));
        const runs = [];
        for (const n of [1, 2]) {
            const sha = repo.commit({ 'n.txt': `${n}\n` }, `change ${n}`);
            await pushAndDeliver(ctx, repo, 'refs/heads/main', sha);
            const [listed] = await waitRuns(d, { sha }, 1);
            const run = await waitDone(d, listed.id);
            await assertRunState(d, run, 'success');
            await waitCheckRun(gh, { repo: 'acme/reuse', id: run.id,
                name: 'paved/ci' });
            await settle(d, gh);
            runs.push({ ...run, repo: 'acme/reuse' });
        }
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, runs, { publicUrl: PUBLIC }),
            []);
        assert.equal(gh.lookups().length, 1, 'the installation is cached');
        assert.equal(gh.exchanges().length, 1, 'the token is reused');
        const used = new Set(gh.checkRequests().map((r) => r.auth.token));
        assert.deepEqual([...used], [gh.tokenGrants()[0].issuedToken]);
        assert.deepEqual(gh.authFailures().map((r) => r.seq), []);
    }));

test('token refresh [FAKE GitHub App]: with tokens that expire in 303 s, a ' +
    'run that starts once the token has < 300 s left exchanges again',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/refresh'] },
    tokenTtlSec: 303 }, async (ctx, gh) => {
    reportPipeline(ctx, 'ci');
    const repo = ctx.repo('acme/refresh');
    const d = await ctx.start(appEnv(ctx, gh));
    const one = async (n) => {
        const sha = repo.commit({ 'n.txt': `${n}\n` }, `change ${n}`);
        await pushAndDeliver(ctx, repo, 'refs/heads/main', sha);
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await waitCheckRun(gh, { repo: 'acme/refresh', id: run.id,
            name: 'paved/ci' });
        await settle(d, gh);
        return { ...run, repo: 'acme/refresh' };
    };
    const first = await one(1);
    const grant1 = gh.issuedTokens()[0];
    assert.ok(grant1, 'no token was issued');
    // precondition, not a timing assertion: the first token now has less
    // than 300 s of its 303 left (it still works at GitHub)
    const wait = grant1.expiresMs - 299_000 - Date.now();
    if (wait > 0)
        await sleep(wait + 200);
    const nBefore = gh.checkRequests().length;
    const second = await one(2);
    assert.deepEqual(gh.schemaErrors(), []);
    assert.deepEqual(checkRunProblems(gh, [first, second],
        { publicUrl: PUBLIC }), []);
    const later = gh.checkRequests().slice(nBefore);
    assert.ok(later.length > 0);
    assert.ok(gh.tokenGrants().length >= 2, 'no second exchange');
    for (const r of later)
        assert.notEqual(r.auth.token, grant1.token, `#${r.seq} used the ` +
            'token that had less than 300 s left');
    assert.equal(gh.lookups().length, 1, 'the installation is cached');
    assert.deepEqual(gh.authFailures().map((r) => r.seq), []);
    // no exchange per request either: at most one per check-run request
    assert.ok(gh.exchanges().length <= gh.checkRequests().length,
        `${gh.exchanges().length} exchanges for ${
            gh.checkRequests().length} check-run requests`);
}));

test('the App is not installed on a repository [FAKE GitHub App]: its ' +
    'outbox row ends `failed` saying so (GET /api/v1/outbox), no check-run ' +
    'request; an installed repository of the same daemon still gets its ' +
    'check run',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/web'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'ci');
        const other = ctx.repo('acme/other');
        const web = ctx.repo('acme/web');
        const d = await ctx.start(appEnv(ctx, gh));
        const a = await pushAndDeliver(ctx, other, 'refs/heads/main');
        const [ra] = await waitRuns(d, { sha: a.sha }, 1);
        await assertRunState(d, await waitDone(d, ra.id), 'success');
        let failed;
        await waitFor('the outbox row of acme/other to fail', async () => {
            failed = (await outbox(d, 'failed')).filter((r) =>
                r.repo === 'acme/other');
            return failed.length > 0;
        }, { describe: async () => JSON.stringify(await outbox(d)) });
        const b = await pushAndDeliver(ctx, web, 'refs/heads/main');
        const [rb] = await waitRuns(d, { sha: b.sha }, 1);
        const runB = await waitDone(d, rb.id);
        await waitCheckRun(gh, { repo: 'acme/web', id: runB.id,
            name: 'paved/ci' });
        await settle(d, gh);

        failed = (await outbox(d, 'failed')).filter((r) =>
            r.repo === 'acme/other');
        assert.equal(failed.length, 1, JSON.stringify(failed));
        const row = failed[0];
        assert.equal(row.status, 'failed');
        assert.equal(row.sha, a.sha);
        assert.match(String(row.last_error), /not installed/i,
            `the row does not say the App is not installed: ${
                JSON.stringify(row)}`);
        // the default listing (pending and failed) shows it too
        assert.ok((await outbox(d)).some((r) => r.id === row.id));
        assert.equal(gh.checkRequests().filter((r) =>
            r.route.repo === 'acme/other').length, 0);
        const lk = gh.lookups().filter((r) => r.route.repo === 'acme/other');
        t.diagnostic(`lookups of acme/other: ${lk.length}`);
        assert.ok(lk.length >= 1 && lk.length <= 3,
            `${lk.length} lookups of a repository the App is not on`);
        assert.deepEqual(checkRunProblems(gh, [{ ...runB, repo: 'acme/web' }],
            { publicUrl: PUBLIC }), []);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.ok(/not installed/i.test(d.stderr()),
            'the daemon\'s log does not say the App is not installed');
    }));

test('GitHub Enterprise [FAKE GitHub App under /api/v3, OpenAPI-' +
    'validated]: the lookup, the exchange and the check runs all go under ' +
    'the base URL\'s path; a failing and a passing run complete',
T, (t) => withAppForge(t, { prefix: '/api/v3',
    installations: { [INST]: ['acme/ghe'] } }, async (ctx, gh) => {
    reportPipeline(ctx, 'ci');
    reportPipeline(ctx, 'unit', { fail: true });
    const repo = ctx.repo('acme/ghe');
    const d = await ctx.start(appEnv(ctx, gh));
    assert.match(d.env.PAVED_GITHUB_API_URL, /\/api\/v3$/);
    const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
    const runs = [];
    for (const r of await waitRuns(d, { sha }, 2))
        runs.push({ ...await waitDone(d, r.id), repo: 'acme/ghe' });
    for (const r of runs)
        await waitCheckRun(gh, { repo: 'acme/ghe', id: r.id,
            name: `paved/${r.pipeline}` });
    await settle(d, gh);
    assert.deepEqual(gh.requests.filter((r) => !r.prefixed).map((r) =>
        `${r.method} ${r.url}`), [], 'requests outside /api/v3');
    assert.deepEqual(gh.schemaErrors(), []);
    assert.deepEqual(checkRunProblems(gh, runs, { publicUrl: PUBLIC }), []);
    for (const r of gh.checkRequests())
        assertCheckRequest(r, { repo: 'acme/ghe', prefix: '/api/v3' });
    assertAppRequests(gh, { prefix: '/api/v3' });
    assertListRequests(gh, { repo: 'acme/ghe', prefix: '/api/v3' });
    assert.equal(gh.lookups().length, 1);
    assert.equal(gh.exchanges().length, 1);
}));

test('a 401 on a check-run request [FAKE GitHub App]: paved drops its ' +
    'token, exchanges a new one and the check run completes (once)',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/auth'] } },
    async (ctx, gh) => {
        let injected = null;
        gh.onRequest((rec) => {
            if (injected === null && (rec.op === 'create' ||
                rec.op === 'update')) {
                injected = rec.seq;
                return appAnswers.badCredentials();
            }
            return undefined;
        });
        reportPipeline(ctx, 'ci');
        const repo = ctx.repo('acme/auth');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'success');
        await waitCheckRun(gh, { repo: 'acme/auth', id: run.id,
            name: 'paved/ci' });
        await settle(d, gh);
        assert.notEqual(injected, null, 'no check-run request was made');
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run, repo: 'acme/auth' }],
            { publicUrl: PUBLIC }), []);
        const grants = gh.tokenGrants();
        assert.equal(grants.length, 2, 'one new token after the 401');
        const refused = gh.requests[injected];
        assert.equal(refused.auth.token, grants[0].issuedToken);
        assert.ok(grants[1].seq > injected, 'the new exchange follows the 401');
        const after = gh.checkRequests().filter((r) => r.seq > injected);
        assert.ok(after.length > 0);
        for (const r of after)
            assert.equal(r.auth.token, grants[1].issuedToken,
                `#${r.seq} did not use the new token`);
        assert.equal(gh.checkRuns().length, 1);
        assert.deepEqual(await outbox(d), []);
    }));

test('kill -9 with check-run updates pending (the forge refusing ' +
    'connections) [FAKE GitHub App, OpenAPI-validated]: after the restart ' +
    'each check run is completed once, no run gets two check runs',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/crash'] } },
    async (ctx, gh) => {
        gatedPipeline(ctx, 'ci', { branches: ['main', 'dev'] });
        gatedPipeline(ctx, 'unit', { branches: ['main', 'dev'], exit: 3 });
        const repo = ctx.repo('acme/crash');
        const d = await ctx.start(appEnv(ctx, gh));
        const a = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const mainRuns = await waitRuns(d, { sha: a.sha }, 2);
        // both check runs exist (in progress) before the forge goes away
        for (const r of mainRuns)
            await waitCheckRun(gh, { repo: 'acme/crash', id: r.id,
                name: `paved/${r.pipeline}` }, ['queued', 'in_progress']);
        await settle(d, gh, { quietMs: 500 });
        const createdBefore = gh.checkRuns().map((c) => c.id);
        assert.equal(createdBefore.length, 2);
        await gh.refuse();
        releaseGate(ctx, 'ci');
        releaseGate(ctx, 'unit');
        // a second commit whose runs end before any create can be sent
        repo.checkoutBranch('dev');
        const shaB = repo.commit({ 'dev.txt': 'dev\n' });
        const b = await pushAndDeliver(ctx, repo, 'refs/heads/dev', shaB);
        const runs = [];
        for (const sha of [a.sha, b.sha]) {
            for (const r of await waitRuns(d, { sha }, 2))
                runs.push({ ...await waitDone(d, r.id), repo: 'acme/crash' });
        }
        await waitFor('four pending rows, each tried and refused',
            async () => {
                const rows = await outbox(d, 'pending');
                return rows.length === 4 && rows.every((r) =>
                    r.attempts >= 1);
            }, { describe: async () => JSON.stringify(await outbox(d)) });
        const beforeKill = await outbox(d, 'pending');

        await d.kill9();
        await gh.accept();
        await d.restart();
        await waitFor('every check run to be completed', () =>
            checkRunProblems(gh, runs, { publicUrl: PUBLIC }).length === 0,
        { describe: () => `${checkRunProblems(gh, runs,
            { publicUrl: PUBLIC }).join('\n')}\n${gh.describe()}` });
        await settle(d, gh);
        assert.deepEqual(checkRunProblems(gh, runs, { publicUrl: PUBLIC }),
            []);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.equal(gh.checkRuns().length, 4, 'one check run per run');
        // main's check runs were completed by PATCHes of their ids
        for (const id of createdBefore) {
            const cr = gh.checkRun(id);
            assert.equal(cr.status, 'completed', `cr ${id}`);
            assert.equal(gh.checkRequests().filter((r) => r.op === 'create' &&
                r.checkRun?.id === id).length, 1);
        }
        // dev's were created once each, completed in that one request
        for (const r of runs.filter((x) => x.sha === b.sha)) {
            const [cr] = gh.find({ external_id: r.id });
            assert.equal(cr.transitions[0].status, 'completed',
                `run ${r.id}: ${JSON.stringify(cr.transitions)}`);
        }
        const creates = gh.checkRequests().filter((r) => r.op === 'create' &&
            r.answer !== 'closed' && r.answer?.status < 300);
        assert.equal(creates.length, 4, 'a run was created twice');
        assert.deepEqual(await outbox(d), []);
        const sent = await outbox(d, 'sent');
        assert.deepEqual(sent.map((r) => r.id).sort((x, y) => x - y),
            beforeKill.map((r) => r.id).sort((x, y) => x - y));
        assert.equal((await listRuns(d)).length, 4, 'nothing ran again');
    }));

// GitHub took the create, paved never learned the id (a crash, a timeout,
// a dropped connection): before it creates again paved must look for a
// check run of that run (GET .../commits/{sha}/check-runs, external_id =
// the run's id) and adopt it, or GitHub shows two check runs for one run,
// the first stuck "in progress" for good.
test('kill -9 while a create is in flight (GitHub has the check run, paved ' +
    'not its id) [FAKE GitHub App]: after the restart still one check run ' +
    'for the run', T,
(t) => withAppForge(t, { installations: { [INST]: ['acme/inflight'] } },
    async (ctx, gh) => {
        gh.onRequest((rec) => (rec.op === 'create'
            ? { real: true, delayMs: 30_000 } : undefined));
        reportPipeline(ctx, 'ci', { gate: true });
        const repo = ctx.repo('acme/inflight');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        await gh.waitFor('the create to reach GitHub', () =>
            gh.checkRuns().length === 1);
        releaseGate(ctx, 'ci');
        const run = await waitDone(d, listed.id);
        await d.kill9();
        gh.healthy();
        await d.restart();
        await gh.waitFor('a completed check run', () => gh.checkRuns().some(
            (c) => c.status === 'completed'));
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/inflight' }], { publicUrl: PUBLIC }), []);
    }));

test('a create that GitHub answers later than report_timeout [FAKE GitHub ' +
    'App]: paved retries, and the run still has one check run',
T,
(t) => withAppForge(t, { installations: { [INST]: ['acme/slow'] } },
    async (ctx, gh) => {
        let held = 0;
        gh.onRequest((rec) => (rec.op === 'create' && held++ === 0
            ? { real: true, delayMs: 5_000 } : undefined));
        reportPipeline(ctx, 'ci', { gate: true });
        const repo = ctx.repo('acme/slow');
        const d = await ctx.start(appEnv(ctx, gh,
            { PAVED_REPORT_TIMEOUT: '2s' }));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        await gh.waitFor('the create to reach GitHub', () =>
            gh.checkRuns().length === 1);
        releaseGate(ctx, 'ci');
        const run = await waitDone(d, listed.id);
        await gh.waitFor('a completed check run', () => gh.checkRuns().some(
            (c) => c.status === 'completed'));
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/slow' }], { publicUrl: PUBLIC }), []);
    }));

test('the connection drops after GitHub took the create (the answer is ' +
    'lost) [FAKE GitHub App]: paved looks before creating again, and the ' +
    'run still has one check run',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/drop'] } },
    async (ctx, gh) => {
        let dropped = 0;
        gh.onRequest((rec) => (rec.op === 'create' && dropped++ === 0
            ? { real: true, close: true } : undefined));
        reportPipeline(ctx, 'ci');
        const repo = ctx.repo('acme/drop');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        const run = await waitDone(d, listed.id);
        await gh.waitFor('a completed check run', () => gh.checkRuns().some(
            (c) => c.status === 'completed'));
        await settle(d, gh);
        assert.equal(dropped > 0, true, 'no create was made');
        assert.deepEqual(gh.schemaErrors(), []);
        const creates = gh.checkRequests().filter((r) => r.op === 'create');
        t.diagnostic(`creates: ${creates.map((r) => `#${r.seq}`)}; looks: ${
            gh.listRequests().map((r) => `#${r.seq}`)}`);
        assert.deepEqual(checkRunProblems(gh, [{ ...run,
            repo: 'acme/drop' }], { publicUrl: PUBLIC }), []);
    }));

test('cancelled and skipped [FAKE GitHub App, OpenAPI-validated]: a ' +
    'cancelled run -> conclusion cancelled; a pipeline whose filters skip ' +
    'the commit -> completed success titled "skipped: ..."',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/cs'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'slow', { gate: true });
        reportPipeline(ctx, 'deploy', { branches: ['release'] });
        const repo = ctx.repo('acme/cs');
        const d = await ctx.start(appEnv(ctx, gh));
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        const [listed] = await waitRuns(d, { sha }, 1);
        await waitState(d, listed.id, 'running');
        const c = await request(`${d.url}/api/v1/runs/${listed.id}/cancel`,
            { method: 'POST' });
        assert.equal(c.status, 202, c.text);
        const run = await waitDone(d, listed.id);
        await assertRunState(d, run, 'cancelled');
        await waitCheckRun(gh, { repo: 'acme/cs', id: run.id,
            name: 'paved/slow' });
        await gh.waitFor('the skipped pipeline\'s check run', () =>
            gh.find({ name: 'paved/deploy' }).some((x) =>
                x.status === 'completed'));
        await settle(d, gh);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(checkRunProblems(gh, [{ ...run, repo: 'acme/cs' }],
            { publicUrl: PUBLIC }), []);
        const skipped = gh.find({ name: 'paved/deploy' });
        assert.equal(skipped.length, 1);
        assert.equal(skipped[0].head_sha, sha);
        assert.equal(skipped[0].conclusion, 'success');
        assert.match(skipped[0].output.title, /^skipped: \S/);
        for (const r of gh.checkRequests())
            assertCheckRequest(r, { repo: 'acme/cs' });
    }));

test('the App\'s private key, its JWTs and installation tokens never ' +
    'appear in paved\'s output (debug level) or its data dir; a broken key ' +
    'is refused without being echoed',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/keys'] } },
    async (ctx, gh) => {
        reportPipeline(ctx, 'ci');
        reportPipeline(ctx, 'bad', { fail: true });
        const repo = ctx.repo('acme/keys');
        // the key inline (one line, literal \n), the most logged level
        const env = { ...gh.env({ keyInline: true, publicUrl: PUBLIC }),
            PAVED_LOG_LEVEL: 'debug' };
        const d = await ctx.start(env);
        const { sha } = await pushAndDeliver(ctx, repo, 'refs/heads/main');
        for (const r of await waitRuns(d, { sha }, 2)) {
            const run = await waitDone(d, r.id);
            await waitCheckRun(gh, { repo: 'acme/keys', id: run.id,
                name: `paved/${run.pipeline}` });
        }
        await settle(d, gh);
        assert.ok(gh.tokenGrants().length >= 1 && gh.lookups().length >= 1);
        const secrets = appSecrets(gh);
        assert.ok(secrets.length >= 25, `${secrets.length} values to look for`);
        const leaks = [
            ...leaksIn('paved stderr/stdout', d.stderr() + d.stdout(),
                secrets),
        ];
        for (const f of walkFiles(d.dataDir))
            leaks.push(...leaksIn(f, fs.readFileSync(f).toString('latin1'),
                secrets));
        const api = await request(`${d.url}/api/v1/outbox?status=sent`);
        leaks.push(...leaksIn('GET /api/v1/outbox', api.text, secrets));
        assert.deepEqual(leaks, []);

        // a key that is no key: refused (at start or when used), and the
        // bytes given are not echoed
        const marker = `NotAKeyButSecret${crypto.randomBytes(12)
            .toString('hex')}`;
        const broken = `-----BEGIN RSA PRIVATE KEY-----\\n${marker}\\n` +
            '-----END RSA PRIVATE KEY-----';
        let out = '';
        let d2 = null;
        try {
            d2 = await startDaemon({ env: {
                PAVED_PIPELINES_DIR: ctx.pipelinesDir,
                PAVED_GITHUB_SECRET: 'x-secret-for-hooks-123',
                PAVED_GITHUB_API_URL: gh.url,
                PAVED_GITHUB_APP_ID: gh.appId,
                PAVED_GITHUB_APP_KEY: broken,
            } });
            out = d2.stderr() + d2.stdout();
            t.diagnostic('paved started with a broken App key');
        } catch (e) {
            out = String(e.message);
            t.diagnostic(`paved refused a broken App key: ${out.split('\n')
                .find((l) => /key|app/i.test(l)) ?? ''}`);
        } finally {
            if (d2) {
                await d2.stop();
                out += d2.stderr() + d2.stdout();
            }
        }
        assert.ok(!out.includes(marker), 'the broken key was echoed');
        assert.ok(/key/i.test(out), `nothing says the key is bad:\n${out}`);
    }));
