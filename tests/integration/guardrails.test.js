// [guardrails] Issue 5, "Tests", END TO END: the built-in steps `uses:
// guardrails` and `uses: scan` in real runs of real git repositories, with
// paved reporting as a GitHub App to the HAND-WRITTEN FAKE of
// lib/ghapp-forge.js (it verifies the App's JWT and tokens and validates
// every check-run request against GitHub's OpenAPI description, npm
// @octokit/openapi, plus GitHub's documented rules; a body that does not
// conform is answered 422 and listed by gh.schemaErrors()).
// Covered:
//  - the test: a signed pull_request webhook for a branch that adds
//    the liveness-during-migration Deployment (as its team wrote it) and a
//    settings file with a leaked AWS access key and GitHub token -> the
//    guardrails step fails -> ONE check run, completed failure, with exactly
//    three annotations at the right path and line, level failure; neither
//    secret in any request to GitHub, the run's log, the runs API, paved's
//    output or its data dir. The same branch fixed (startupProbe, keys
//    removed) -> success, no annotation;
//  - a push: only the lines the push adds are judged (--base
//    $PAVED_BEFORE): a key that an older commit already had is not
//    reported, the new one is, at its line; a push that adds no key passes;
//  - `uses: scan`: a corpus Trivy report in the repository -> failure, the
//    CVE with package, installed and fixed version in the log and as an
//    annotation; a clean report passes; `with: {trivy: /nonexistent/trivy}`
//    and no trivy on the daemon's PATH -> the step FAILS saying "trivy is
//    not installed"; a stand-in trivy gets `image --format json --output F
//    --quiet IMAGE` and its report is judged;
//  - `.paved/policy.yaml` in the repository: an exception removes the
//    finding (success, "1 excepted"); an expired one brings it back and is
//    itself a finding (policy.exception-expired at the exception's line);
//  - `with: {fail_on: critical}`: a high finding passes and is annotated as
//    a warning, not a failure;
//  - a pull request is judged on the secrets its commits add (PAVED_BEFORE
//    is its base commit, fetched into the mirror), so an old key on main
//    does not fail an unrelated pull request.
// The repositories are made from tests/fixtures/guardrails/e2e/ (see its
// README.md); secrets are random per test, written into the @@...@@
// placeholders, so nothing secret-looking is committed to paved.
// Each test owns its daemon, repositories, fake and temp dirs. No timed
// assertions: the tests wait for what GitHub would show.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { sharedDir } from './lib/daemon.js';
import { settle } from './lib/forge.js';
import { withAppForge } from './lib/ghapp-forge.js';
import { request } from './lib/http.js';
import {
    assertRunState, deliver, getRun, prPayload, pushAndDeliver, repoRoot,
    runLog, stepOf, waitDone, waitRuns, walkFiles, yq,
} from './lib/runs.js';

const T = { timeout: 300_000 };
const PUBLIC = 'https://paved.example.test';
const INST = 5005;
const E2E = path.join(repoRoot, 'tests', 'fixtures', 'guardrails', 'e2e');
const CORPUS = path.join(sharedDir(), 'corpus', 'trivy');

// ------------------------------------------------------------ fixtures

// Every file under dir as {relative path: text}.
function filesOf(dir) {
    const out = {};
    for (const f of walkFiles(dir))
        out[path.relative(dir, f)] = fs.readFileSync(f, 'utf8');
    return out;
}

// Values the secret rules would take for stand-ins ("EXAMPLE", "test",
// ...): a random key that happens to hold one is drawn again.
const STAND_IN = new RegExp(['xxxxx', '\\*{5}', 'change', 'example',
    'placeholder', 'redacted', 'dummy', 'your', 'sample', 'token', 'secret',
    'passw', 'fake', 'test'].join('|'), 'i');

function randomOf(alphabet, n) {
    let s = '';
    for (let i = 0; i < n; i++)
        s += alphabet[crypto.randomInt(alphabet.length)];
    return s;
}

function awsKeyId() {
    for (;;) {
        const body = randomOf('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
        if (!STAND_IN.test(body))
            return `AKIA${body}`;
    }
}

function githubToken() {
    const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' +
        '0123456789';
    for (;;) {
        const body = randomOf(alnum, 36);
        if (!STAND_IN.test(body))
            return `ghp_${body}`;
    }
}

// The files of fixture dir `name`, with its @@NAME@@ placeholders filled.
function fixtureFiles(name, values = {}) {
    const files = filesOf(path.join(E2E, name));
    for (const [f, text] of Object.entries(files)) {
        files[f] = text.replace(/@@([A-Z_]+)@@/g, (m, k) => {
            assert.ok(k in values, `${name}/${f}: no value for ${m}`);
            return values[k];
        });
    }
    return files;
}

// "# <- rule rule" markers of a fixture dir: [{path, line, rule}], sorted.
function markers(name) {
    const out = [];
    for (const [f, text] of Object.entries(filesOf(path.join(E2E, name)))) {
        text.split('\n').forEach((l, i) => {
            const m = /# <- (.+)$/.exec(l);
            if (m) {
                for (const rule of m[1].trim().split(/\s+/))
                    out.push({ path: f, line: i + 1, rule });
            }
        });
    }
    return sortFindings(out);
}

const RULE_ID = '[a-z0-9]+\\.[a-z0-9-]+';
const SEVERITY = '(?:info|low|medium|high|critical)';

const sortFindings = (list) => [...list].sort((a, b) =>
    `${a.path}:${String(a.line).padStart(6, '0')}:${a.rule}`.localeCompare(
        `${b.path}:${String(b.line).padStart(6, '0')}:${b.rule}`));

// What the pull request of the issue must be told, written out: the
// fixture's markers must say the same (a fixture edit that moves a line
// fails here, not as a puzzling annotation mismatch).
const BAD_PR = [
    { path: 'app/settings.py', line: 8, rule: 'secrets.aws-access-key',
        severity: 'critical' },
    { path: 'app/settings.py', line: 13, rule: 'secrets.github-token',
        severity: 'critical' },
    { path: 'deploy/orders.yaml', line: 47, rule: 'k8s.liveness-startup',
        severity: 'high' },
];

// ------------------------------------------------------------ helpers

function appEnv(ctx, gh, extra = {}) {
    return { ...gh.env({ keyFile: ctx.keyFile, publicUrl: PUBLIC }),
        ...extra };
}

// The run of `sha` (exactly one), finished.
async function runOf(d, sha) {
    const [listed] = await waitRuns(d, { sha }, 1);
    return waitDone(d, listed.id);
}

// The completed check run of a run, once paved has nothing left to send
// (annotations go 50 a request: the last batch may follow completion).
async function completedCheckRun(d, gh, repo, run) {
    let cr;
    await gh.waitFor(`the check run of run ${run.id} completed`, () => {
        cr = gh.find({ repo, external_id: run.id })[0];
        return cr && cr.status === 'completed';
    });
    await settle(d, gh);
    const all = gh.find({ repo, external_id: run.id });
    assert.equal(all.length, 1, `one check run for run ${run.id}: ` +
        JSON.stringify(all.map((c) => c.id)));
    return all[0];
}

// Annotations as GitHub keeps them, without the fake's bookkeeping.
const annotationsOf = (cr) => cr.annotations.map(({ seq, ...a }) => a);

// What GitHub shows, in the order of sortFindings: {path, line, rule,
// severity, level}, after checking each annotation's own shape.
function shown(cr) {
    const out = [];
    for (const a of annotationsOf(cr)) {
        const where = `annotation ${JSON.stringify(a)}`;
        assert.equal(a.start_line, a.end_line, `${where}: one line`);
        const m = new RegExp(`^(${RULE_ID}) \\((${SEVERITY})\\)$`)
            .exec(a.title ?? '');
        assert.ok(m, `${where}: title "<rule> (<severity>)"`);
        assert.ok(typeof a.message === 'string' && a.message.length > 0 &&
            !/\n/.test(a.message), `${where}: a one-line message`);
        out.push({ path: a.path, line: a.start_line, rule: m[1],
            severity: m[2], level: a.annotation_level });
    }
    return sortFindings(out);
}

function assertCleanRequests(gh) {
    assert.deepEqual(gh.schemaErrors(), [], 'a request GitHub would refuse');
    assert.deepEqual(gh.headerProblems(), []);
}

// Every form of a secret that would show it: the bytes, base64, and the
// JSON/URL escapes (the same text for these alphabets).
function forms(secret) {
    const b64 = Buffer.from(secret).toString('base64');
    return [secret, b64, b64.replace(/=+$/, '')];
}

// Places that hold a secret: every request paved sent GitHub (URL,
// headers, body), the run's log and API documents, paved's stderr and
// stdout, every file of its data dir (the checkout is removed after the
// run; the mirror holds git objects, compressed).
async function leaks(ctx, gh, runs, secrets) {
    const out = [];
    const look = (where, text) => {
        for (const s of secrets) {
            for (const f of forms(s)) {
                if (String(text).includes(f))
                    out.push(`${where} holds ${s.slice(0, 4)}… (as ` +
                        `${f === s ? 'is' : 'base64'})`);
            }
        }
    };
    for (const r of gh.requests)
        look(`request #${r.seq} ${r.method} ${r.url}`, `${r.url}\n${
            JSON.stringify(r.headers)}\n${r.raw}`);
    for (const run of runs) {
        look(`run ${run.id} log`, await runLog(ctx.d, run.id));
        look(`GET /api/v1/runs/${run.id}`, (await request(
            `${ctx.d.url}/api/v1/runs/${run.id}`)).text);
    }
    look('GET /api/v1/runs', (await request(`${ctx.d.url}/api/v1/runs`))
        .text);
    look('paved stderr', ctx.d.stderr());
    look('paved stdout', ctx.d.stdout());
    for (const f of walkFiles(ctx.d.dataDir))
        look(`data dir ${path.relative(ctx.d.dataDir, f)}`,
            fs.readFileSync(f).toString('latin1'));
    return out;
}

// The text of a step's log lines (whatever the stream).
async function stepLog(d, run, step) {
    return runLog(d, run.id, { step });
}

// ------------------------------------------------------------ tests

test('fixtures: the e2e fixture markers say what the tests expect',
    () => {
        assert.deepEqual(markers('pr-bad'), sortFindings(BAD_PR.map(
            ({ severity, ...m }) => m)));
        assert.deepEqual(markers('main'), [], 'main is clean');
        assert.deepEqual(markers('pr-fixed'), [], 'the fixed branch is clean');
        assert.deepEqual(markers('push'), []);
        assert.deepEqual(markers('policy').map((m) => m.rule),
            ['policy.exception-expired']);
    });

test('END-TO-END, the issue\'s test [FAKE GitHub App, OpenAPI-validated]: a ' +
    'pull_request webhook for a branch adding the liveness-during-migration ' +
    'Deployment and a leaked AWS key and GitHub token -> the guardrails step ' +
    'fails -> one check run, completed failure, annotations at the exact ' +
    'paths and lines, level failure; no secret in any request, log, API ' +
    'answer or data file. The branch fixed -> success, no annotation',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/shop'] } },
    async (ctx, gh) => {
        ctx.pipeline('guardrails.yaml', `name: guardrails
on:
  pull_request: {branches: [main]}
steps:
  - name: guardrails
    uses: guardrails
`);
        const aws = awsKeyId();
        const ghToken = githubToken();
        const repo = ctx.repo('acme/shop');
        const base = repo.commit(fixtureFiles('main'), 'the shop, clean');
        repo.push('refs/heads/main', base);
        const d = await ctx.start(appEnv(ctx, gh));

        // the team's branch: the Deployment and the settings with keys
        repo.checkoutBranch('orders-service', base);
        const bad = repo.commit(fixtureFiles('pr-bad', {
            AWS_ACCESS_KEY_ID: aws, GITHUB_TOKEN: ghToken }),
        'orders: deploy it');
        repo.push('refs/heads/orders-service', bad);
        repo.push('refs/pull/12/head', bad);
        await deliver(d, 'pull_request', prPayload({ repo: 'acme/shop',
            number: 12, title: 'Deploy the orders service',
            headRef: 'orders-service', headSha: bad, baseRef: 'main',
            baseSha: base, cloneUrl: repo.fileUrl }));
        const run1 = await runOf(d, bad);
        await assertRunState(d, run1, 'failure');
        assert.equal(run1.event, 'pull_request');
        assert.equal(stepOf(run1, 'guardrails').state, 'failure');
        const cr1 = await completedCheckRun(d, gh, 'acme/shop', run1);
        assertCleanRequests(gh);

        assert.equal(cr1.name, 'paved/guardrails');
        assert.equal(cr1.head_sha, bad);
        assert.equal(cr1.conclusion, 'failure');
        assert.equal(cr1.details_url, `${PUBLIC}/api/v1/runs/${run1.id}`);
        // exactly the three findings, each at its file and line, as a
        // failure (high and critical are at or above fail_on high)
        assert.deepEqual(shown(cr1), sortFindings(BAD_PR.map((f) => ({
            ...f, level: 'failure' }))));
        const byRule = new Map(annotationsOf(cr1).map((a) =>
            [a.title.split(' ')[0], a]));
        assert.match(byRule.get('k8s.liveness-startup').message,
            new RegExp('^container "orders": livenessProbe can restart it ' +
                'after 60 s .*startup budget is 900 s .*add a startupProbe'));
        assert.match(byRule.get('secrets.aws-access-key').message,
            /^AWS access key ID AKIA… is in the file: /);
        assert.match(byRule.get('secrets.github-token').message,
            /^GitHub token ghp_… is in the file: /);
        // what the check shows below the annotations: the step's log
        assert.ok(cr1.output.text.includes('deploy/orders.yaml:47: high ' +
            'k8s.liveness-startup'), `output.text: ${cr1.output.text}`);
        assert.ok(cr1.output.summary.includes('guardrails'),
            cr1.output.summary);

        // the step's log: the findings as `paved check` prints them, the
        // secrets redacted to four characters
        const log1 = await stepLog(d, run1, 'guardrails');
        for (const f of BAD_PR)
            assert.ok(log1.includes(`${f.path}:${f.line}: ${f.severity} ` +
                `${f.rule}: `), `log lacks ${f.path}:${f.line}:\n${log1}`);
        assert.match(log1,
            /3 findings \(2 critical, 1 high\) in \d+ files .*FAILED/);

        // the fix, pushed to the same pull request (synchronize)
        const fixed = repo.commit(fixtureFiles('pr-fixed'),
            'orders: startupProbe; keys from the environment');
        repo.push('refs/heads/orders-service', fixed);
        repo.push('refs/pull/12/head', fixed);
        await deliver(d, 'pull_request', prPayload({ repo: 'acme/shop',
            number: 12, action: 'synchronize',
            title: 'Deploy the orders service', headRef: 'orders-service',
            headSha: fixed, baseRef: 'main', baseSha: base,
            cloneUrl: repo.fileUrl }));
        const run2 = await runOf(d, fixed);
        await assertRunState(d, run2, 'success');
        assert.equal(stepOf(run2, 'guardrails').state, 'success');
        const cr2 = await completedCheckRun(d, gh, 'acme/shop', run2);
        assertCleanRequests(gh);
        assert.notEqual(cr2.id, cr1.id, 'a new check run for the new head');
        assert.equal(cr2.head_sha, fixed);
        assert.equal(cr2.conclusion, 'success');
        assert.deepEqual(annotationsOf(cr2), [], 'the fixed branch has no ' +
            'finding at all');
        assert.match(await stepLog(d, run2, 'guardrails'),
            /0 findings in \d+ files .*passed/);
        // the first check run is untouched by the second run
        assert.equal(gh.checkRun(cr1.id).conclusion, 'failure');
        assert.equal(gh.checkRun(cr1.id).annotations.length, 3);

        assert.deepEqual(await leaks(ctx, gh, [run1, run2], [aws, ghToken]),
            []);
    }));

test('END-TO-END push [FAKE GitHub App]: secrets are judged on the lines ' +
    'the push adds (--base $PAVED_BEFORE): the older commit\'s key is not ' +
    'reported, the new one is at its line; a push adding no key passes',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/billing'] } },
    async (ctx, gh) => {
        ctx.pipeline('guardrails.yaml', `name: guardrails
on:
  push: {branches: [main]}
steps:
  - name: guardrails
    uses: guardrails
`);
        const oldKey = awsKeyId();
        const newKey = awsKeyId();
        const repo = ctx.repo('acme/billing');
        // an old leak, already on main before paved watched the repo
        const a = repo.commit(fixtureFiles('push', {
            OLD_AWS_ACCESS_KEY_ID: oldKey }), 'billing: settings');
        repo.push('refs/heads/main', a);
        const d = await ctx.start(appEnv(ctx, gh));

        // the push adds a second key, two lines below the first one
        const envFile = 'config/billing.env';
        const text = fs.readFileSync(path.join(repo.work, envFile), 'utf8');
        const oldLine = text.split('\n').findIndex((l) =>
            l.includes(oldKey)) + 1;
        assert.ok(oldLine > 0, `the old key is in ${envFile}`);
        const added = `${text}# the export job\nEXPORT_KEY_ID=${newKey}\n`;
        const newLine = added.split('\n').findIndex((l) =>
            l.includes(newKey)) + 1;
        const b = repo.commit({ [envFile]: added }, 'billing: export job');
        const pushed = await pushAndDeliver(ctx, repo, 'refs/heads/main', b);
        assert.equal(pushed.before, a);
        const run1 = await runOf(d, b);
        await assertRunState(d, run1, 'failure');
        const cr1 = await completedCheckRun(d, gh, 'acme/billing', run1);
        assertCleanRequests(gh);
        assert.equal(cr1.conclusion, 'failure');
        assert.deepEqual(shown(cr1), [{ path: envFile, line: newLine,
            rule: 'secrets.aws-access-key', severity: 'critical',
            level: 'failure' }], `only line ${newLine} (the old key is at ` +
            `line ${oldLine})`);
        const log1 = await stepLog(d, run1, 'guardrails');
        assert.ok(log1.includes(`${envFile}:${newLine}: critical ` +
            'secrets.aws-access-key'), log1);
        assert.ok(!log1.includes(`${envFile}:${oldLine}:`), log1);
        assert.ok(!/whole tree/.test(log1), `the base was found: ${log1}`);

        // a push that adds no key: the tree still holds both, the push
        // is judged on its own lines
        const c = repo.commit({ 'README.md': '# billing\n\nSee docs/.\n' },
            'docs');
        await pushAndDeliver(ctx, repo, 'refs/heads/main', c);
        const run2 = await runOf(d, c);
        await assertRunState(d, run2, 'success');
        const cr2 = await completedCheckRun(d, gh, 'acme/billing', run2);
        assert.equal(cr2.conclusion, 'success');
        assert.deepEqual(annotationsOf(cr2), []);
        assert.deepEqual(await leaks(ctx, gh, [run1, run2],
            [oldKey, newKey]), []);
    }));

test('END-TO-END pull request [FAKE GitHub App]: secrets are judged on the ' +
    'commits the pull request adds (issue 5: "for a pull request, the ' +
    'commits it adds"): a key already on main does not fail an unrelated ' +
    'pull request', T, async (t) => {
    await withAppForge(t, { installations: { [INST]: ['acme/billing'] } },
        async (ctx, gh) => {
            try {
                await prOnOldLeak(ctx, gh);
            } catch (e) {
                if (e instanceof assert.AssertionError)
                    e.message += `\n--- fake GitHub App requests ---\n${
                        gh.describe()}`;
                throw e;
            }
        });
});

// A pull request that adds no key, on a main that holds an old one.
async function prOnOldLeak(ctx, gh) {
    ctx.pipeline('guardrails.yaml', `name: guardrails
on:
  pull_request: {branches: [main]}
steps:
  - name: guardrails
    uses: guardrails
`);
    const oldKey = awsKeyId();
    const repo = ctx.repo('acme/billing');
    const base = repo.commit(fixtureFiles('push', {
        OLD_AWS_ACCESS_KEY_ID: oldKey }), 'billing: settings');
    repo.push('refs/heads/main', base);
    repo.checkoutBranch('docs', base);
    const head = repo.commit({ 'README.md': '# billing\n\nDocs.\n' },
        'docs');
    repo.push('refs/heads/docs', head);
    repo.push('refs/pull/41/head', head);
    const d = await ctx.start(appEnv(ctx, gh));
    await deliver(d, 'pull_request', prPayload({ repo: 'acme/billing',
        number: 41, headRef: 'docs', headSha: head, baseSha: base,
        cloneUrl: repo.fileUrl }));
    const run = await runOf(d, head);
    const cr = await completedCheckRun(d, gh, 'acme/billing', run);
    assert.deepEqual(shown(cr), [], 'the pull request adds no key');
    await assertRunState(d, run, 'success');
}

test('END-TO-END scan [FAKE GitHub App]: a corpus Trivy report -> failure ' +
    'with the CVE in the log and as an annotation; a clean report passes; ' +
    'Trivy missing (a path, or not on PATH) -> the step FAILS saying so; a ' +
    'stand-in trivy gets `image --format json --output F --quiet IMAGE`',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/images'] } },
    async (ctx, gh) => {
        const image = 'registry.example.com/shop/orders:1.8.2';
        // a PATH without trivy (nothing at all: steps need no tool from
        // it, a built-in step is paved itself and /bin/sh is absolute)
        const emptyBin = path.join(ctx.tmp, 'empty-bin');
        fs.mkdirSync(emptyBin);
        // a stand-in trivy: records its arguments, writes the corpus
        // report where --output says
        const fakeTrivy = path.join(ctx.tmp, 'fake-trivy');
        fs.writeFileSync(fakeTrivy, `#!/bin/sh
: > ${yq(path.join(ctx.out, 'trivy-args'))}
prev=
dest=
for a in "$@"; do
  printf '%s\\n' "$a" >> ${yq(path.join(ctx.out, 'trivy-args'))}
  if [ "$prev" = --output ]; then dest=$a; fi
  prev=$a
done
/bin/cp ${yq(path.join(CORPUS, 'debian-buster.json.golden'))} "$dest"
`, { mode: 0o755 });
        ctx.pipeline('scan.yaml', `name: scan
on:
  push: {branches: [main]}
steps:
  - name: report
    uses: scan
    with: {report: reports/debian-buster.json}
  - name: report-clean
    uses: scan
    with: {report: reports/sl-micro.json}
  - name: trivy-path-missing
    uses: scan
    with: {image: ${yq(image)}, trivy: /nonexistent/trivy}
  - name: trivy-not-on-path
    uses: scan
    with: {image: ${yq(image)}}
  - name: stand-in-trivy
    uses: scan
    with: {image: ${yq(image)}, trivy: ${yq(fakeTrivy)}}
`);
        const repo = ctx.repo('acme/images');
        const sha = repo.commit({
            'reports/debian-buster.json': fs.readFileSync(path.join(CORPUS,
                'debian-buster.json.golden'), 'utf8'),
            'reports/sl-micro.json': fs.readFileSync(path.join(CORPUS,
                'sl-micro-rancher5.4.json.golden'), 'utf8'),
        }, 'reports');
        const d = await ctx.start(appEnv(ctx, gh, { PATH: emptyBin }));
        await pushAndDeliver(ctx, repo, 'refs/heads/main', sha);
        const run = await runOf(d, sha);
        await assertRunState(d, run, 'failure');
        const states = Object.fromEntries(run.steps.map((s) =>
            [s.name, s.state]));
        assert.deepEqual(states, { 'report': 'failure',
            'report-clean': 'success', 'trivy-path-missing': 'failure',
            'trivy-not-on-path': 'failure', 'stand-in-trivy': 'failure' });

        const cve = 'libidn2-0 2.0.5-1: CVE-2019-18224 (critical), fixed in ' +
            '2.0.5-1+deb10u1';
        const logReport = await stepLog(d, run, 'report');
        assert.ok(logReport.includes(`reports/debian-buster.json: critical ` +
            `trivy.vulnerability: ${cve}`), logReport);
        // the LOW one without a fix is below the gate
        assert.ok(!logReport.includes('CVE-2019-18276'), logReport);
        assert.match(logReport, /1 finding \(1 critical\) .*FAILED/);
        assert.match(await stepLog(d, run, 'report-clean'),
            /0 findings .*passed/);
        const logPath = await stepLog(d, run, 'trivy-path-missing');
        assert.ok(logPath.includes('trivy is not installed (looked for ' +
            '"/nonexistent/trivy" on PATH)'), logPath);
        assert.ok(logPath.includes('nothing was scanned, so this step ' +
            'fails'), logPath);
        const logNoPath = await stepLog(d, run, 'trivy-not-on-path');
        assert.ok(logNoPath.includes('trivy is not installed (looked for ' +
            '"trivy" on PATH)'), logNoPath);
        const logFake = await stepLog(d, run, 'stand-in-trivy');
        assert.ok(logFake.includes(`${image}: critical trivy.vulnerability: ` +
            cve), logFake);
        const args = fs.readFileSync(path.join(ctx.out, 'trivy-args'), 'utf8')
            .split('\n').filter((l) => l !== '');
        assert.equal(args.length, 7, JSON.stringify(args));
        assert.deepEqual([...args.slice(0, 4), ...args.slice(5)],
            ['image', '--format', 'json', '--output', '--quiet', image]);
        assert.ok(path.isAbsolute(args[4]), `--output ${args[4]}`);
        assert.ok(!fs.existsSync(args[4]), `paved left ${args[4]} behind`);

        const cr = await completedCheckRun(d, gh, 'acme/images', run);
        assertCleanRequests(gh);
        assert.equal(cr.conclusion, 'failure');
        assert.deepEqual(shown(cr), sortFindings([
            { path: 'reports/debian-buster.json', line: 1,
                rule: 'trivy.vulnerability', severity: 'critical',
                level: 'failure' },
            { path: image, line: 1, rule: 'trivy.vulnerability',
                severity: 'critical', level: 'failure' },
        ]));
        for (const a of annotationsOf(cr))
            assert.ok(a.message.startsWith(cve), a.message);
        // a user reading the check sees why the image steps failed
        assert.ok(cr.output.text.includes('trivy is not installed'),
            cr.output.text);
    }));

test('END-TO-END policy [FAKE GitHub App]: a .paved/policy.yaml exception ' +
    'removes the finding (success, "1 excepted"); an expired one brings it ' +
    'back and is itself a finding, policy.exception-expired at its line',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/shop'] } },
    async (ctx, gh) => {
        ctx.pipeline('guardrails.yaml', `name: guardrails
on:
  pull_request: {branches: [main]}
steps:
  - name: guardrails
    uses: guardrails
`);
        const repo = ctx.repo('acme/shop');
        const base = repo.commit(fixtureFiles('main'), 'the shop, clean');
        repo.push('refs/heads/main', base);
        const manifest = fixtureFiles('pr-bad', { AWS_ACCESS_KEY_ID: 'x',
            GITHUB_TOKEN: 'x' })['deploy/orders.yaml'];
        const policy = fixtureFiles('policy');
        const d = await ctx.start(appEnv(ctx, gh));

        const openPr = async (number, branch, policyFile) => {
            repo.checkoutBranch(branch, base);
            const sha = repo.commit({ 'deploy/orders.yaml': manifest,
                '.paved/policy.yaml': policy[policyFile] }, branch);
            repo.push(`refs/heads/${branch}`, sha);
            repo.push(`refs/pull/${number}/head`, sha);
            await deliver(d, 'pull_request', prPayload({ repo: 'acme/shop',
                number, headRef: branch, headSha: sha, baseSha: base,
                cloneUrl: repo.fileUrl }));
            const run = await runOf(d, sha);
            return { sha, run, cr: await completedCheckRun(d, gh,
                'acme/shop', run) };
        };

        const ok = await openPr(21, 'orders-excepted', 'excepted.yaml');
        await assertRunState(d, ok.run, 'success');
        assert.equal(ok.cr.conclusion, 'success');
        assert.deepEqual(annotationsOf(ok.cr), [], 'the exception removes ' +
            'the finding');
        assert.match(await stepLog(d, ok.run, 'guardrails'),
            new RegExp('0 findings in \\d+ files .*1 excepted by ' +
                '\\.paved/policy\\.yaml.*passed'));

        const exp = await openPr(22, 'orders-expired', 'expired.yaml');
        await assertRunState(d, exp.run, 'failure');
        assert.equal(exp.cr.conclusion, 'failure');
        const expiredAt = markers('policy').find((m) =>
            m.path === 'expired.yaml').line;
        assert.deepEqual(shown(exp.cr), sortFindings([
            { path: '.paved/policy.yaml', line: expiredAt,
                rule: 'policy.exception-expired', severity: 'high',
                level: 'failure' },
            { path: 'deploy/orders.yaml', line: 47,
                rule: 'k8s.liveness-startup', severity: 'high',
                level: 'failure' },
        ]));
        const msg = annotationsOf(exp.cr).find((a) =>
            a.title.startsWith('policy.')).message;
        assert.ok(msg.includes('k8s.liveness-startup') &&
            msg.includes('deploy/orders.yaml') && msg.includes('2024-01-31'),
        msg);
        assertCleanRequests(gh);
    }));

test('END-TO-END fail_on [FAKE GitHub App]: `with: {fail_on: critical}` ' +
    'lets a high finding pass, annotated as a warning; the default pipeline ' +
    'on the same pull request fails with it as a failure',
T, (t) => withAppForge(t, { installations: { [INST]: ['acme/shop'] } },
    async (ctx, gh) => {
        for (const [name, w] of [['strict', ''], ['lenient',
            '\n    with: {fail_on: critical}']]) {
            ctx.pipeline(`${name}.yaml`, `name: ${name}
on:
  pull_request: {branches: [main]}
steps:
  - name: guardrails
    uses: guardrails${w}
`);
        }
        const repo = ctx.repo('acme/shop');
        const base = repo.commit(fixtureFiles('main'), 'the shop, clean');
        repo.push('refs/heads/main', base);
        const manifest = fixtureFiles('pr-bad', { AWS_ACCESS_KEY_ID: 'x',
            GITHUB_TOKEN: 'x' })['deploy/orders.yaml'];
        repo.checkoutBranch('orders', base);
        const sha = repo.commit({ 'deploy/orders.yaml': manifest }, 'orders');
        repo.push('refs/heads/orders', sha);
        repo.push('refs/pull/31/head', sha);
        const d = await ctx.start(appEnv(ctx, gh));
        await deliver(d, 'pull_request', prPayload({ repo: 'acme/shop',
            number: 31, headRef: 'orders', headSha: sha, baseSha: base,
            cloneUrl: repo.fileUrl }));
        const listed = await waitRuns(d, { sha }, 2);
        const runs = {};
        for (const r of listed) {
            const done = await waitDone(d, r.id);
            runs[done.pipeline] = { run: done, cr: await completedCheckRun(d,
                gh, 'acme/shop', done) };
        }
        await assertRunState(d, runs.strict.run, 'failure');
        await assertRunState(d, runs.lenient.run, 'success');
        const finding = { path: 'deploy/orders.yaml', line: 47,
            rule: 'k8s.liveness-startup', severity: 'high' };
        assert.equal(runs.strict.cr.conclusion, 'failure');
        assert.deepEqual(shown(runs.strict.cr), [{ ...finding,
            level: 'failure' }]);
        assert.equal(runs.lenient.cr.name, 'paved/lenient');
        assert.equal(runs.lenient.cr.conclusion, 'success');
        assert.deepEqual(shown(runs.lenient.cr), [{ ...finding,
            level: 'warning' }]);
        assert.match(await stepLog(d, runs.lenient.run, 'guardrails'),
            /fails at critical: passed/);
        assertCleanRequests(gh);
        // the run document of each shows its own result
        assert.equal((await getRun(d, runs.lenient.run.id)).state, 'success');
    }));
