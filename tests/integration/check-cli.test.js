// [guardrails] Issue 5: `paved check` and `paved scan` as a user runs them
// on a laptop or in any CI: the real binary (PAVED_BIN), spawned with no
// PAVED_* configuration, in temporary trees and git repositories made here.
// Covered: exit status 0 / 1 / 2; --format text, json and sarif (SARIF
// validated against the SARIF 2.1.0 JSON schema that npm
// @microsoft/jest-sarif ships, lib/schemas/sarif-2.1.0-rtm.5.json, with ajv
// 6 for its draft-04; and GitHub code scanning's own needs: rule indexes,
// security-severity bands, fingerprints); --fail-on and the policy's
// fail_on; --rules against docs/guardrails.md; a bad PATH; --annotations
// appended, each line valid against the annotation schema of GitHub's
// OpenAPI description (checks/create); --output; --base on a real git
// history; the policy file (severity, off, exceptions, expiry, what cannot
// be switched off); secrets never printed in any format. `paved scan
// --report` on every Trivy report of ../shared/corpus/trivy with exact
// counts (written out, and recomputed from the report itself), --severity
// and --ignore-unfixed, --image with Trivy missing, failing or stood in.
// The gate is a set of severities, as Trivy's --severity: what is outside
// it is neither reported nor annotated, misconfigurations and secrets
// included.
// The trees are made from tests/fixtures/guardrails/e2e/ (see its
// README.md). No timed assertion.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { markFailed, pavedBin, sharedDir } from './lib/daemon.js';
import { createRepo } from './lib/git.js';
import { operation } from './lib/ghapp-forge.js';
import { validateSchema } from './lib/forge.js';
import { repoRoot, walkFiles } from './lib/runs.js';

const require = createRequire(import.meta.url);
const E2E = path.join(repoRoot, 'tests', 'fixtures', 'guardrails', 'e2e');
const CORPUS = path.join(sharedDir(), 'corpus', 'trivy');
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];

// ------------------------------------------------------------ SARIF schema

// The SARIF 2.1.0 schema (draft-04) as published with the standard's
// final release candidate, compiled once.
let sarifValidator = null;
function validateSarif(doc) {
    if (sarifValidator === null) {
        const Ajv = require('ajv');
        const draft4 = require('ajv/lib/refs/json-schema-draft-04.json');
        const schema = require(
            '@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
        assert.match(schema.title, /SARIF\) Version 2\.1\.0/);
        const ajv = new Ajv({ schemaId: 'id', allErrors: true, meta: false,
            format: 'full' });
        ajv.addMetaSchema(draft4);
        sarifValidator = ajv.compile(schema);
    }
    const ok = sarifValidator(doc);
    return ok ? [] : sarifValidator.errors.map((e) =>
        `${e.dataPath || '$'}: ${e.message} ${JSON.stringify(e.params)}`);
}

// ------------------------------------------------------------ helpers

// `paved ...` with nothing of the test's environment but PATH and HOME.
function paved(args, { cwd, env = {} } = {}) {
    const r = spawnSync(pavedBin(), args, {
        cwd, encoding: 'utf8', timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/', ...env },
    });
    assert.equal(r.error, undefined, `paved ${args.join(' ')}: ${r.error}`);
    assert.equal(r.signal, null, `paved ${args.join(' ')} died of ` +
        `${r.signal}`);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr,
        what: `paved ${args.join(' ')} (exit ${r.status})\n--- stdout\n` +
            `${r.stdout}\n--- stderr\n${r.stderr}` };
}

function pavedJson(args, opts) {
    const r = paved(args, opts);
    let doc;
    try {
        doc = JSON.parse(r.stdout);
    } catch (e) {
        assert.fail(`not JSON (${e.message}): ${r.what}`);
    }
    return { ...r, doc };
}

// A temporary directory for one test, removed after it unless the test
// failed (keepOnFailure) or PAVED_INT_KEEP=1.
const failedTests = new WeakSet();
function tmpDir(t) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-check-'));
    t.after(() => {
        if (failedTests.has(t) || process.env.PAVED_INT_KEEP === '1') {
            process.stderr.write(`check-cli: kept ${dir}\n`);
            return;
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });
    return dir;
}

async function keepOnFailure(t, dir, fn) {
    try {
        await fn();
    } catch (e) {
        markFailed();
        failedTests.add(t);
        e.message += `\n--- test dir ${dir}`;
        throw e;
    }
}

function filesOf(dir) {
    const out = {};
    for (const f of walkFiles(dir))
        out[path.relative(dir, f)] = fs.readFileSync(f, 'utf8');
    return out;
}

function writeTree(dir, files) {
    for (const [name, text] of Object.entries(files)) {
        const p = path.join(dir, name);
        if (text === null) {
            fs.rmSync(p, { force: true });
            continue;
        }
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, text);
    }
    return dir;
}

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
        const b = randomOf('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16);
        if (!STAND_IN.test(b))
            return `AKIA${b}`;
    }
}

function githubToken() {
    for (;;) {
        const b = randomOf('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu' +
            'vwxyz0123456789', 36);
        if (!STAND_IN.test(b))
            return `ghp_${b}`;
    }
}

// The fixture dirs' files merged in order, placeholders filled.
function fixtureTree(names, values = {}) {
    const files = {};
    for (const n of names)
        Object.assign(files, filesOf(path.join(E2E, n)));
    for (const [f, text] of Object.entries(files))
        files[f] = text.replace(/@@([A-Z_]+)@@/g, (m, k) => values[k] ?? m);
    return files;
}

const RULE_ID = '[a-z0-9]+\\.[a-z0-9-]+';
const SEVERITY = '(?:info|low|medium|high|critical)';

const fingerprint = (secret) => `sha256:${crypto.createHash('sha256')
    .update(secret).digest('hex').slice(0, 16)}`;

// The pull request as a tree: {dir, aws, gh, expected findings}.
function badTree(t) {
    const aws = awsKeyId();
    const gh = githubToken();
    const dir = writeTree(tmpDir(t), fixtureTree(['main', 'pr-bad'],
        { AWS_ACCESS_KEY_ID: aws, GITHUB_TOKEN: gh }));
    const expected = [
        { rule: 'secrets.aws-access-key', severity: 'critical',
            path: 'app/settings.py', line: 8, end_line: 8,
            fingerprint: fingerprint(aws) },
        { rule: 'secrets.github-token', severity: 'critical',
            path: 'app/settings.py', line: 13, end_line: 13,
            fingerprint: fingerprint(gh) },
        { rule: 'k8s.liveness-startup', severity: 'high',
            path: 'deploy/orders.yaml', line: 47, end_line: 47 },
    ];
    return { dir, aws, gh, expected, nfiles: walkFiles(dir).length };
}

// main + the fixed pull request, plus a medium and a low finding:
// readOnlyRootFilesystem dropped, and a Service that selects nothing.
const LEGACY_SERVICE = `---
apiVersion: v1
kind: Service
metadata:
  name: legacy
  namespace: shop
spec:
  selector:
    app: legacy-orders
  ports:
    - port: 80
`;
function mediumLowTree(t) {
    const files = fixtureTree(['main', 'pr-fixed']);
    const m = files['deploy/orders.yaml'];
    assert.ok(m.includes('            readOnlyRootFilesystem: true\n'));
    files['deploy/orders.yaml'] = m.replace(
        '            readOnlyRootFilesystem: true\n', '') + LEGACY_SERVICE;
    const lines = files['deploy/orders.yaml'].split('\n');
    const container = lines.indexOf('        - name: orders') + 1;
    // a Service's selector finding is at its selector
    const service = lines.indexOf('  selector:', lines.indexOf(
        '  name: legacy')) + 1;
    assert.ok(service > container);
    return { dir: writeTree(tmpDir(t), files), container, service };
}

// "path:line: severity rule: " of each text line before the summary.
function textFindings(stdout) {
    const lines = stdout.split('\n').filter((l) => l !== '');
    const summary = lines.pop();
    return { summary, findings: lines.map((l) => {
        const m = new RegExp(`^(.+?):(\\d+): (${SEVERITY}) (${RULE_ID}): ` +
            '(.+)$').exec(l);
        assert.ok(m, `not "path:line: severity rule: message": ${l}`);
        return { path: m[1], line: Number(m[2]), severity: m[3],
            rule: m[4], message: m[5] };
    }) };
}

const noSecrets = (r, secrets) => {
    for (const s of secrets) {
        assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s),
            `${s.slice(0, 4)}… printed: ${r.what}`);
        const b64 = Buffer.from(s).toString('base64').replace(/=+$/, '');
        assert.ok(!r.stdout.includes(b64), 'printed in base64');
    }
};

// GitHub's annotation shape (checks/create, output.annotations[]).
function annotationSchema() {
    const s = operation('create').schema;
    const items = s?.properties?.output?.properties?.annotations?.items;
    assert.ok(items && items.properties?.annotation_level,
        'no annotation schema in GitHub\'s description');
    return items;
}

// Every rule with its default severity, as docs/guardrails.md documents.
function documentedRules() {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'guardrails.md'),
        'utf8');
    const out = new Map();
    const re = new RegExp(`^### \`(${RULE_ID})\`\\n\\nDefault severity ` +
        '\\*\\*([a-z]+)\\*\\*\\.', 'gm');
    let m;
    while ((m = re.exec(doc)) !== null)
        out.set(m[1], m[2]);
    return out;
}

// ------------------------------------------------------------ paved check

test('paved check: a clean repository exits 0 in text, json and sarif ' +
    '(SARIF valid against the 2.1.0 schema, no results)', (t) => {
    const dir = writeTree(tmpDir(t), fixtureTree(['main', 'pr-fixed']));
    const n = walkFiles(dir).length;
    return keepOnFailure(t, dir, () => {
        const text = paved(['check'], { cwd: dir });
        assert.equal(text.status, 0, text.what);
        assert.equal(text.stdout, `0 findings in ${n} files (2 manifests, ` +
            '1 Dockerfile); fails at high: passed\n', text.what);
        assert.equal(text.stderr, '');
        const json = pavedJson(['check', dir, '--format', 'json']);
        assert.equal(json.status, 0, json.what);
        assert.deepEqual(json.doc, { findings: [], summary: { files: n,
            manifests: 2, dockerfiles: 1, excepted: 0, by_severity: {
                info: 0, low: 0, medium: 0, high: 0, critical: 0 },
            fail_on: 'high', failed: false } });
        const sarif = pavedJson(['check', '--format=sarif', dir]);
        assert.equal(sarif.status, 0, sarif.what);
        assert.deepEqual(validateSarif(sarif.doc), []);
        assert.equal(sarif.doc.version, '2.1.0');
        assert.deepEqual(sarif.doc.runs[0].results, []);
    });
});

test('paved check: the issue\'s pull request exits 1; text, json and sarif ' +
    'name each finding at its path and line; secrets only as 4 characters ' +
    'and a fingerprint, in no format', (t) => {
    const { dir, aws, gh, expected, nfiles } = badTree(t);
    return keepOnFailure(t, dir, () => {
        const text = paved(['check'], { cwd: dir });
        assert.equal(text.status, 1, text.what);
        const tf = textFindings(text.stdout);
        assert.deepEqual(tf.findings.map(({ message, ...f }) => f),
            expected.map((f) => ({ path: f.path, line: f.line,
                severity: f.severity, rule: f.rule })));
        assert.equal(tf.summary, `3 findings (2 critical, 1 high) in ` +
            `${nfiles} files (2 manifests, 1 Dockerfile); fails at high: ` +
            'FAILED');
        assert.match(tf.findings[0].message, /^AWS access key ID AKIA… is /);
        assert.match(tf.findings[1].message, /^GitHub token ghp_… is /);
        assert.match(tf.findings[2].message,
            /^container "orders": .*startup budget is 900 s/);
        noSecrets(text, [aws, gh]);

        const json = pavedJson(['check', '--format', 'json', '.'],
            { cwd: dir });
        assert.equal(json.status, 1, json.what);
        assert.deepEqual(json.doc.findings.map(({ message, ...f }) => f),
            expected);
        assert.deepEqual(json.doc.findings.map((f) => f.message),
            tf.findings.map((f) => f.message), 'text and json say the same');
        assert.deepEqual(json.doc.summary.by_severity, { info: 0, low: 0,
            medium: 0, high: 1, critical: 2 });
        assert.equal(json.doc.summary.failed, true);
        noSecrets(json, [aws, gh]);

        const sarif = pavedJson(['check', '--format', 'sarif', dir]);
        assert.equal(sarif.status, 1, sarif.what);
        assert.deepEqual(validateSarif(sarif.doc), []);
        noSecrets(sarif, [aws, gh]);
        const run = sarif.doc.runs[0];
        assert.equal(run.tool.driver.name, 'paved');
        const rules = run.tool.driver.rules;
        const results = run.results.map((r) => {
            assert.equal(rules[r.ruleIndex]?.id, r.ruleId,
                `ruleIndex ${r.ruleIndex} is not ${r.ruleId}`);
            const loc = r.locations[0].physicalLocation;
            return { rule: r.ruleId, level: r.level,
                path: loc.artifactLocation.uri,
                line: loc.region.startLine, end_line: loc.region.endLine,
                fp: r.partialFingerprints ?? null, text: r.message.text };
        });
        assert.deepEqual(results.map(({ text: x, ...r }) => r),
            expected.map((f) => ({ rule: f.rule, level: 'error',
                path: f.path, line: f.line, end_line: f.line,
                fp: f.fingerprint ? { 'secretFingerprint/v1': f.fingerprint }
                    : null })));
        assert.deepEqual(results.map((r) => r.text),
            tf.findings.map((f) => f.message));
    });
});

test('paved check: SARIF rules are every rule of --rules, with GitHub code ' +
    'scanning\'s security-severity band of its default severity', (t) => {
    const { dir } = badTree(t);
    return keepOnFailure(t, dir, () => {
        const sarif = pavedJson(['check', '--format', 'sarif', dir]);
        const listed = paved(['check', '--rules']).stdout.split('\n')
            .filter((l) => l !== '').map((l) => l.split(/\s+/));
        const rules = sarif.doc.runs[0].tool.driver.rules;
        assert.deepEqual(rules.map((r) => r.id), listed.map((l) => l[0]));
        // GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, else low
        const band = (s) => (s > 9 ? 'critical' : (s >= 7 ? 'high'
            : (s >= 4 ? 'medium' : 'low')));
        const sarifLevel = { critical: 'error', high: 'error',
            medium: 'warning', low: 'note', info: 'note' };
        for (const [i, r] of rules.entries()) {
            const sev = listed[i][1];
            const score = r.properties?.['security-severity'];
            assert.match(String(score), /^\d+(\.\d+)?$/, `${r.id}: score`);
            assert.equal(band(Number(score)), sev === 'info' ? 'low' : sev,
                `${r.id}: security-severity ${score} for ${sev}`);
            assert.equal(r.defaultConfiguration?.level, sarifLevel[sev],
                r.id);
            assert.ok(r.shortDescription?.text, r.id);
        }
    });
});

test('paved check --rules: exactly the rules docs/guardrails.md documents, ' +
    'with the documented default severities', () => {
    const r = paved(['check', '--rules']);
    assert.equal(r.status, 0, r.what);
    const listed = new Map(r.stdout.split('\n').filter((l) => l !== '')
        .map((l) => {
            const m = new RegExp(`^(${RULE_ID})\\s+(${SEVERITY})\\s+` +
                '(\\S.*)$').exec(l);
            assert.ok(m, `--rules line: ${l}`);
            return [m[1], m[2]];
        }));
    const documented = documentedRules();
    assert.ok(documented.size >= 40, `${documented.size} rules in the docs`);
    assert.deepEqual(listed, documented);
});

test('paved check --fail-on: a high finding passes at critical and fails at ' +
    'high; a medium one fails at medium; the policy\'s fail_on, and ' +
    '--fail-on over it', (t) => {
    const only = writeTree(tmpDir(t), { ...fixtureTree(['main']),
        'deploy/orders.yaml': fixtureTree(['pr-bad'])['deploy/orders.yaml'] });
    const ml = mediumLowTree(t);
    return keepOnFailure(t, only, () => {
        let r = paved(['check', '--fail-on', 'critical', only]);
        assert.equal(r.status, 0, r.what);
        const tf = textFindings(r.stdout);
        assert.deepEqual(tf.findings.map((f) => `${f.path}:${f.line} ` +
            f.rule), ['deploy/orders.yaml:47 k8s.liveness-startup'],
        'the finding is still shown');
        assert.match(tf.summary, /; fails at critical: passed$/);
        r = paved(['check', '--fail-on=high', only]);
        assert.equal(r.status, 1, r.what);
        r = paved(['check', only]);
        assert.equal(r.status, 1, `default high: ${r.what}`);

        r = paved(['check', ml.dir]);
        assert.equal(r.status, 0, r.what);
        assert.deepEqual(textFindings(r.stdout).findings.map((f) =>
            `${f.line} ${f.severity} ${f.rule}`), [
            `${ml.container} medium k8s.read-only-root-fs`,
            `${ml.service} low k8s.service-selector`]);
        for (const [level, want] of [['info', 1], ['low', 1], ['medium', 1],
            ['high', 0], ['critical', 0]]) {
            r = paved(['check', '--fail-on', level, ml.dir]);
            assert.equal(r.status, want, `--fail-on ${level}: ${r.what}`);
        }
        // the repository's policy sets the failing severity
        writeTree(ml.dir, { '.paved/policy.yaml': 'fail_on: medium\n' });
        r = paved(['check', ml.dir]);
        assert.equal(r.status, 1, r.what);
        assert.match(textFindings(r.stdout).summary,
            /fails at medium: FAILED$/);
        r = paved(['check', '--fail-on', 'high', ml.dir]);
        assert.equal(r.status, 0, `--fail-on over the policy: ${r.what}`);
    });
});

test('paved check: usage errors exit 2 and say what is wrong, print no ' +
    'report', (t) => {
    const dir = writeTree(tmpDir(t), fixtureTree(['main']));
    const cases = [
        [['check', '--format', 'xml', dir], /format "xml"/],
        [['check', '--fail-on', 'severe', dir], /severity "severe"/],
        [['check', dir, dir], /one PATH only/],
        [['check', '--frobnicate', dir], /unknown option "--frobnicate"/],
        [['check', dir, '--base'], /--base needs a value/],
        [['check', dir, '--report', 'x.json'], /usage: paved check/],
        [['scan'], /usage: paved scan/],
        [['scan', '--report', 'a.json', '--image', 'b'], /usage: paved scan/],
        [['scan', '--report', 'a.json', 'extra'], /usage: paved scan/],
        [['scan', '--report', path.join(CORPUS, 'debian-buster.json.golden'),
            '--severity', 'SEVERE'], /"SEVERE" is not a severity/],
    ];
    for (const [args, why] of cases) {
        const r = paved(args);
        assert.equal(r.status, 2, r.what);
        assert.match(r.stderr, why, r.what);
        assert.equal(r.stdout, '', r.what);
    }
    const help = paved(['check', '--help']);
    assert.equal(help.status, 0, help.what);
    assert.match(help.stdout, /^usage: paved check/);
});

test('paved check: a PATH that does not exist, or is a file, exits 1 naming ' +
    'it, and prints no report', (t) => {
    const dir = tmpDir(t);
    const file = path.join(dir, 'settings.py');
    fs.writeFileSync(file, 'x = 1\n');
    for (const [p, why] of [[path.join(dir, 'no', 'such', 'dir'),
        /No such file or directory/], [file, /not a directory/]]) {
        for (const fmt of ['text', 'json', 'sarif']) {
            const r = paved(['check', '--format', fmt, p]);
            assert.equal(r.status, 1, r.what);
            assert.ok(r.stderr.includes(p), r.what);
            assert.match(r.stderr, why, r.what);
            assert.equal(r.stdout, '', r.what);
        }
    }
});

test('paved check --annotations FILE: appended (what was there stays), one ' +
    'GitHub annotation a line, valid against checks/create\'s schema; ' +
    'failure at or above fail_on, warning for medium, notice below', (t) => {
    const bad = badTree(t);
    const ml = mediumLowTree(t);
    const out = tmpDir(t);
    return keepOnFailure(t, out, () => {
        const file = path.join(out, 'annotations.jsonl');
        const before = '{"path":"other-step.txt","start_line":1,' +
            '"end_line":1,"annotation_level":"notice","message":"kept"}\n';
        fs.writeFileSync(file, before);
        let r = paved(['check', '--annotations', file], { cwd: bad.dir });
        assert.equal(r.status, 1, r.what);
        const once = fs.readFileSync(file, 'utf8');
        assert.ok(once.startsWith(before), 'the earlier line was kept');
        r = paved(['check', '--annotations', file, '--format', 'json',
            ml.dir]);
        assert.equal(r.status, 0, r.what);
        const text = fs.readFileSync(file, 'utf8');
        assert.ok(text.startsWith(once), 'appended, not replaced');
        const lines = text.split('\n');
        assert.equal(lines.pop(), '', 'ends with a newline');
        const anns = lines.map((l) => JSON.parse(l));
        const schema = annotationSchema();
        for (const a of anns)
            assert.deepEqual(validateSchema(schema, a), [], JSON.stringify(a));
        const short = anns.slice(1).map((a) => `${a.path}:${a.start_line}-` +
            `${a.end_line} ${a.annotation_level} ${a.title}`);
        assert.deepEqual(short, [
            'app/settings.py:8-8 failure secrets.aws-access-key (critical)',
            'app/settings.py:13-13 failure secrets.github-token (critical)',
            'deploy/orders.yaml:47-47 failure k8s.liveness-startup (high)',
            `deploy/orders.yaml:${ml.container}-${ml.container} warning ` +
                'k8s.read-only-root-fs (medium)',
            `deploy/orders.yaml:${ml.service}-${ml.service} notice ` +
                'k8s.service-selector (low)',
        ]);
        for (const s of [bad.aws, bad.gh])
            assert.ok(!text.includes(s), 'a secret in the annotations');
        // with fail_on low, low is a failure too
        const f2 = path.join(out, 'low.jsonl');
        r = paved(['check', '--fail-on', 'low', '--annotations', f2, ml.dir]);
        assert.equal(r.status, 1, r.what);
        assert.deepEqual(fs.readFileSync(f2, 'utf8').trim().split('\n')
            .map((l) => JSON.parse(l).annotation_level), ['failure',
            'failure']);
        // a file that cannot be written fails the check
        r = paved(['check', '--annotations', path.join(out, 'no', 'x'),
            ml.dir]);
        assert.equal(r.status, 1, r.what);
        assert.match(r.stderr, /No such file or directory/);
    });
});

test('paved check --output FILE: the report goes to the file, nothing to ' +
    'stdout; the exit status is the same', (t) => {
    const bad = badTree(t);
    const out = tmpDir(t);
    return keepOnFailure(t, out, () => {
        const file = path.join(out, 'report.sarif');
        fs.writeFileSync(file, 'old content that must go\n');
        const r = paved(['check', bad.dir, '--format', 'sarif', '--output',
            file]);
        assert.equal(r.status, 1, r.what);
        assert.equal(r.stdout, '');
        const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
        assert.deepEqual(validateSarif(doc), []);
        assert.equal(doc.runs[0].results.length, 3);
    });
});

test('paved check --base REV on a real git history: only the lines the ' +
    'commits since REV add are looked at for secrets; an unknown REV scans ' +
    'the whole tree and says so', (t) => {
    const root = tmpDir(t);
    return keepOnFailure(t, root, () => {
        const repo = createRepo(root, 'acme/billing');
        const oldKey = awsKeyId();
        const newKey = awsKeyId();
        const a = repo.commit(fixtureTree(['push'],
            { OLD_AWS_ACCESS_KEY_ID: oldKey }), 'settings');
        const env = path.join(repo.work, 'config', 'billing.env');
        const text = fs.readFileSync(env, 'utf8');
        const oldLine = text.split('\n').findIndex((l) =>
            l.includes(oldKey)) + 1;
        fs.writeFileSync(env, `${text}EXPORT_KEY_ID=${newKey}\n`);
        const newLine = text.split('\n').length;
        const b = repo.commit({}, 'export');
        const keys = (r) => JSON.parse(r.stdout).findings.map((f) =>
            `${f.path}:${f.line} ${f.rule}`);

        let r = paved(['check', '--format', 'json', '--base', a, repo.work]);
        assert.equal(r.status, 1, r.what);
        assert.deepEqual(keys(r), [`config/billing.env:${newLine} ` +
            'secrets.aws-access-key']);
        assert.equal(JSON.parse(r.stdout).findings[0].fingerprint,
            fingerprint(newKey));
        assert.equal(JSON.parse(r.stdout).note, undefined);
        // a branch name works as well as a SHA
        r = paved(['check', '--format', 'json', '--base', 'HEAD~1', '.'],
            { cwd: repo.work });
        assert.deepEqual(keys(r), [`config/billing.env:${newLine} ` +
            'secrets.aws-access-key']);
        // nothing added since HEAD: the tree's keys are not this change's
        r = paved(['check', '--base', b, repo.work]);
        assert.equal(r.status, 0, r.what);
        // without --base: the whole tree
        r = paved(['check', '--format', 'json', repo.work]);
        assert.deepEqual(keys(r), [
            `config/billing.env:${oldLine} secrets.aws-access-key`,
            `config/billing.env:${newLine} secrets.aws-access-key`]);
        // a REV the repository does not have: the whole tree, and a note
        const missing = '1234567'.repeat(5) + '12345';
        r = paved(['check', '--format', 'json', '--base', missing,
            repo.work]);
        assert.equal(r.status, 1, r.what);
        assert.equal(keys(r).length, 2, r.what);
        assert.match(JSON.parse(r.stdout).note, /whole tree/);
        r = paved(['check', '--base', missing, repo.work]);
        assert.match(r.stdout + r.stderr, new RegExp(`whole tree.*${missing}`));
        for (const x of [oldKey, newKey])
            assert.ok(!(r.stdout + r.stderr).includes(x));
    });
});

test('paved check with .paved/policy.yaml: a rule\'s severity, off, an ' +
    'exception (counted), an expired exception (the finding is back, and ' +
    'policy.exception-expired at its line), incomplete, unknown rules, a ' +
    'broken file; policy findings cannot be switched off', (t) => {
    const only = writeTree(tmpDir(t), { ...fixtureTree(['main']),
        'deploy/orders.yaml': fixtureTree(['pr-bad'])['deploy/orders.yaml'] });
    const policies = fixtureTree(['policy']);
    return keepOnFailure(t, only, () => {
        const check = (policy) => {
            writeTree(only, { '.paved/policy.yaml': policy });
            const r = pavedJson(['check', '--format', 'json', only]);
            return { r, list: r.doc, short: r.doc.findings.map((f) =>
                `${f.path}:${f.line} ${f.severity} ${f.rule}`) };
        };
        const LIVE = 'deploy/orders.yaml:47';

        let c = check('rules:\n  k8s.liveness-startup: low\n');
        assert.deepEqual(c.short, [`${LIVE} low k8s.liveness-startup`]);
        assert.equal(c.r.status, 0, c.r.what);
        c = check('rules:\n  k8s.liveness-startup: critical\n');
        assert.deepEqual(c.short, [`${LIVE} critical k8s.liveness-startup`]);
        assert.equal(c.r.status, 1);
        c = check('rules:\n  k8s.liveness-startup: off\n');
        assert.deepEqual(c.short, []);
        assert.equal(c.r.status, 0);

        c = check(policies['excepted.yaml']);
        assert.deepEqual(c.short, []);
        assert.equal(c.r.status, 0, c.r.what);
        assert.equal(c.list.summary.excepted, 1);
        const text = paved(['check', only]);
        assert.match(text.stdout, /; 1 excepted by \.paved\/policy\.yaml; /);

        c = check(policies['expired.yaml']);
        assert.equal(c.r.status, 1);
        assert.deepEqual(c.short, ['.paved/policy.yaml:5 high ' +
            'policy.exception-expired', `${LIVE} high k8s.liveness-startup`]);
        assert.equal(c.list.summary.excepted, 0);
        // a glob and a directory except too
        for (const p of ['deploy/*.yaml', 'deploy/']) {
            c = check(policies['excepted.yaml'].replace(
                'path: deploy/orders.yaml', `path: ${JSON.stringify(p)}`));
            assert.deepEqual(c.short, [], `path ${p}`);
        }
        // "*" stays in one directory
        c = check(policies['excepted.yaml'].replace(
            'path: deploy/orders.yaml', 'path: "*.yaml"'));
        assert.deepEqual(c.short, [`${LIVE} high k8s.liveness-startup`]);

        c = check('exceptions:\n  - rule: k8s.liveness-startup\n' +
            '    path: deploy/orders.yaml\n');
        assert.deepEqual(c.short, ['.paved/policy.yaml:2 high ' +
            'policy.exception-incomplete',
        `${LIVE} high k8s.liveness-startup`]);

        c = check('rules:\n  k8s.no-such-rule: low\n  ' +
            'policy.unknown-rule: off\n  policy.exception-expired: off\n' +
            'exceptions:\n  - rule: k8s.liveness-startup\n' +
            '    path: deploy/orders.yaml\n    reason: r\n' +
            '    expires: 2020-02-02\n');
        assert.deepEqual(c.short, [
            '.paved/policy.yaml:2 medium policy.unknown-rule',
            '.paved/policy.yaml:6 high policy.exception-expired',
            `${LIVE} high k8s.liveness-startup`]);

        // YAML that does not parse, and YAML of another shape: a finding,
        // and the checks' findings are all there (a broken policy hides
        // nothing); the line is where the parser noticed
        for (const broken of ['fail_on: [\nrules: {\n',
            'rules:\n  - k8s.liveness-startup\n  - off\n']) {
            c = check(broken);
            assert.equal(c.r.status, 1, c.r.what);
            assert.deepEqual(c.short.map((x) => x.replace(/^(\S+):\d+ /,
                '$1:N ')), ['.paved/policy.yaml:N high policy.syntax',
                `deploy/orders.yaml:N high k8s.liveness-startup`],
            `${JSON.stringify(broken)}: ${c.r.what}`);
            const line = c.list.findings[0].line;
            assert.ok(line >= 1 && line <= broken.split('\n').length,
                `line ${line}`);
        }
    });
});

// ------------------------------------------------------------ paved scan

// What the gate must find in a Trivy report, recomputed from the report:
// vulnerabilities of the failing severities (without a fix skipped with
// ignoreUnfixed), every failed misconfiguration and every secret.
function oracle(report, { severities = ['CRITICAL', 'HIGH'],
    ignoreUnfixed = false } = {}) {
    const count = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
    const sev = (s) => (s === 'UNKNOWN' ? 'info' : s.toLowerCase());
    for (const r of report.Results ?? []) {
        for (const v of r.Vulnerabilities ?? []) {
            if (!severities.includes(v.Severity))
                continue;
            if (ignoreUnfixed && !v.FixedVersion)
                continue;
            count[sev(v.Severity)]++;
        }
        for (const m of r.Misconfigurations ?? []) {
            if (m.Status === 'FAIL')
                count[sev(m.Severity)]++;
        }
        for (const s of r.Secrets ?? [])
            count[sev(s.Severity)]++;
    }
    return count;
}

const counts = (o) => Object.fromEntries(SEVERITIES.map((s) =>
    [s, o[s] ?? 0]));

// Written out from ../shared/corpus/trivy/SOURCE.md and the files.
const CORPUS_EXPECTED = {
    'debian-buster.json.golden': {
        gate: { critical: 1 }, exit: 1,
        all: { critical: 1, low: 1 }, allFixed: { critical: 1 },
        rules: ['trivy.vulnerability'],
        lines: ['libidn2-0 2.0.5-1: CVE-2019-18224 (critical), fixed in ' +
            '2.0.5-1+deb10u1'],
    },
    'dockerfile.json.golden': {
        gate: { high: 1 }, exit: 1, all: { high: 1 }, allFixed: { high: 1 },
        rules: ['trivy.misconfiguration'],
        lines: ['Dockerfile: high trivy.misconfiguration: Image user should ' +
            'not be \'root\' (DS-0002)'],
    },
    'secrets.json.golden': {
        gate: { critical: 1, high: 1 }, exit: 1,
        all: { critical: 1, high: 1 }, allFixed: { critical: 1, high: 1 },
        rules: ['trivy.secret', 'trivy.secret'],
        lines: ['deploy.sh:3: critical trivy.secret: AWS Access Key ID',
            'deploy.sh:7: high trivy.secret: My Secret'],
    },
    'sl-micro-rancher5.4.json.golden': {
        gate: {}, exit: 0, all: {}, allFixed: {}, rules: [], lines: [],
    },
};

test('paved scan --report on every Trivy report of the shared corpus: exact ' +
    'counts by severity (written out and recomputed from the report), exit ' +
    'status, text lines, SARIF valid; a secret\'s text never printed', () => {
    const files = fs.readdirSync(CORPUS).filter((f) =>
        f.endsWith('.json.golden')).sort();
    assert.deepEqual(files, Object.keys(CORPUS_EXPECTED).sort(),
        'a corpus file without expectations here');
    const ALL = 'CRITICAL,HIGH,MEDIUM,LOW,UNKNOWN';
    for (const f of files) {
        const p = path.join(CORPUS, f);
        const want = CORPUS_EXPECTED[f];
        const report = JSON.parse(fs.readFileSync(p, 'utf8'));
        for (const [args, exp, o] of [
            [[], want.gate, {}],
            [['--severity', ALL], want.all,
                { severities: ALL.split(',') }],
            [['--severity', ALL, '--ignore-unfixed'], want.allFixed,
                { severities: ALL.split(','), ignoreUnfixed: true }],
        ]) {
            const r = pavedJson(['scan', '--report', p, '--format', 'json',
                ...args]);
            const where = `${f} ${args.join(' ')}: ${r.what}`;
            assert.deepEqual(r.doc.summary.by_severity, counts(exp), where);
            assert.deepEqual(r.doc.summary.by_severity, oracle(report, o),
                `${where}: the report itself says otherwise`);
            const n = Object.values(exp).reduce((x, y) => x + y, 0);
            assert.equal(r.doc.findings.length, n, where);
            assert.equal(r.status, n > 0 ? 1 : 0, where);
            assert.equal(r.doc.summary.failed, n > 0, where);
        }
        const text = paved(['scan', '--report', p]);
        assert.equal(text.status, want.exit, text.what);
        const lines = text.stdout.split('\n').filter((l) => l !== '');
        const summary = lines.pop();
        const n = Object.values(want.gate).reduce((x, y) => x + y, 0);
        assert.match(summary, new RegExp(`^${n} findings?\\b.*fails at high: ` +
            `${n > 0 ? 'FAILED' : 'passed'}$`), text.what);
        assert.equal(lines.length, want.lines.length, text.what);
        want.lines.forEach((l, i) => assert.ok(lines[i].includes(l),
            `${f}: line ${i}: ${lines[i]}, want ${l}`));
        const json = pavedJson(['scan', '--report', p, '--format', 'json']);
        assert.deepEqual(json.doc.findings.map((x) => x.rule), want.rules);
        const sarif = pavedJson(['scan', '--report', p, '--format', 'sarif']);
        assert.deepEqual(validateSarif(sarif.doc), [], f);
        assert.equal(sarif.doc.runs[0].results.length, n);
        // Trivy's fixture holds a GitHub token in the Code lines of the
        // secret: it is never carried into paved's output
        for (const r of [text, json, sarif])
            assert.ok(!r.stdout.includes('ghp_0123456789ABCDEF'), r.what);
    }
});

test('paved scan --severity and --ignore-unfixed: the gate fails on the ' +
    'listed severities only; a vulnerability without a fix passes with ' +
    '--ignore-unfixed; each is listed with package, installed and fixed ' +
    'version', () => {
    const deb = path.join(CORPUS, 'debian-buster.json.golden');
    const scan = (...args) => pavedJson(['scan', '--report', deb, '--format',
        'json', ...args]);
    let r = scan('--severity', 'LOW');
    assert.equal(r.status, 1, r.what);
    assert.deepEqual(r.doc.findings.map((f) => f.message.split(':')
        .slice(0, 2).join(':')), ['bash 5.0-4: CVE-2019-18276 (low), no fix ' +
        'yet']);
    r = scan('--severity', 'LOW', '--ignore-unfixed');
    assert.equal(r.status, 0, r.what);
    assert.deepEqual(r.doc.findings, []);
    r = scan('--severity', 'MEDIUM');
    assert.equal(r.status, 0, r.what);
    assert.deepEqual(r.doc.findings, []);
    r = scan('--severity', 'critical');
    assert.equal(r.status, 1, `lower case: ${r.what}`);
    assert.deepEqual(r.doc.findings.map((f) => [f.rule, f.severity,
        f.message]), [['trivy.vulnerability', 'critical', 'libidn2-0 ' +
        '2.0.5-1: CVE-2019-18224 (critical), fixed in 2.0.5-1+deb10u1: ' +
        'upgrade the package or the base image']]);
    r = scan('--ignore-unfixed');
    assert.equal(r.status, 1, 'the critical one has a fix: still fails');
    // the report's path is where the findings are
    assert.equal(r.doc.findings[0].path, deb);
});

test('paved scan: a finding outside the failing severities is not ' +
    'annotated when the gate passes', (t) => {
    const out = tmpDir(t);
    const ann = path.join(out, 'a.jsonl');
    const r = paved(['scan', '--report', path.join(CORPUS,
        'dockerfile.json.golden'), '--severity', 'MEDIUM', '--annotations',
    ann]);
    assert.equal(r.status, 0, r.what);
    const text = fs.existsSync(ann) ? fs.readFileSync(ann, 'utf8') : '';
    assert.equal(text, '', 'a passing gate annotates nothing');
    // the same misconfiguration inside the gate: one failure annotation
    const r2 = paved(['scan', '--report', path.join(CORPUS,
        'dockerfile.json.golden'), '--severity', 'HIGH', '--annotations',
    ann]);
    assert.equal(r2.status, 1, r2.what);
    const levels = fs.readFileSync(ann, 'utf8').trim().split('\n')
        .map((l) => JSON.parse(l).annotation_level);
    assert.deepEqual(levels, ['failure']);
});

test('paved scan --image: Trivy missing (a path, PAVED_TRIVY, not on PATH) ' +
    'or failing fails the scan and says so; a stand-in trivy is run as ' +
    '`trivy image --format json --output F --quiet IMAGE` and its report ' +
    'judged', (t) => {
    const dir = tmpDir(t);
    return keepOnFailure(t, dir, () => {
        const image = 'registry.example.com/shop/orders:1.8.2';
        const empty = path.join(dir, 'empty-bin');
        fs.mkdirSync(empty);
        let r = paved(['scan', '--image', image, '--trivy',
            '/nonexistent/trivy']);
        assert.equal(r.status, 1, r.what);
        assert.match(r.stderr, new RegExp('trivy is not installed \\(looked ' +
            'for "/nonexistent/trivy" on PATH\\).*nothing was scanned, so ' +
            'this step fails'));
        assert.equal(r.stdout, '');
        r = paved(['scan', '--image', image], { env: { PATH: empty } });
        assert.equal(r.status, 1, r.what);
        assert.match(r.stderr,
            /trivy is not installed \(looked for "trivy" on PATH\)/);
        r = paved(['scan', '--image', image], { env: { PAVED_TRIVY:
            path.join(dir, 'nope') } });
        assert.equal(r.status, 1, r.what);
        assert.ok(r.stderr.includes(`looked for "${path.join(dir, 'nope')}"`),
            r.what);

        const argsFile = path.join(dir, 'args');
        const stand = (name, body) => {
            const p = path.join(dir, name);
            fs.writeFileSync(p, `#!/bin/sh\n: > '${argsFile}'\n` +
                `for a in "$@"; do printf '%s\\n' "$a" >> '${argsFile}'; ` +
                `done\n${body}\n`, { mode: 0o755 });
            return p;
        };
        const deb = path.join(CORPUS, 'debian-buster.json.golden');
        const good = stand('trivy', 'while [ "$1" != --output ]; do shift; ' +
            `done\ncp '${deb}' "$2"`);
        // found on PATH by its name, through --trivy, and PAVED_TRIVY
        for (const how of [{ env: { PATH: `${dir}:${process.env.PATH}` } },
            { args: ['--trivy', good] }, { env: { PAVED_TRIVY: good } }]) {
            r = pavedJson(['scan', '--image', image, '--format', 'json',
                ...(how.args ?? [])], { env: how.env });
            assert.equal(r.status, 1, r.what);
            assert.deepEqual(r.doc.findings.map((f) => `${f.path} ` +
                `${f.rule} ${f.severity}`), [`${image} trivy.vulnerability ` +
                'critical']);
            const args = fs.readFileSync(argsFile, 'utf8').split('\n')
                .filter((l) => l !== '');
            assert.deepEqual([...args.slice(0, 4), ...args.slice(5)],
                ['image', '--format', 'json', '--output', '--quiet', image]);
            assert.ok(!fs.existsSync(args[4]), `${args[4]} left behind`);
        }
        // an image name is an argument, never shell text
        const odd = `x;touch ${path.join(dir, 'pwned')}`;
        r = paved(['scan', '--image', odd, '--trivy', good]);
        assert.equal(r.status, 1, r.what);
        assert.ok(!fs.existsSync(path.join(dir, 'pwned')));
        assert.equal(fs.readFileSync(argsFile, 'utf8').trim().split('\n')
            .pop(), odd);

        // Trivy that fails, or writes no report: nothing judged, fails
        const broken = stand('trivy-broken', 'echo "FATAL image not found" ' +
            '>&2\nexit 3');
        r = paved(['scan', '--image', image, '--trivy', broken]);
        assert.equal(r.status, 1, r.what);
        assert.match(r.stderr, new RegExp('failed \\(exit status 3\\).*' +
            'nothing was judged, so this step fails'));
        const garbage = stand('trivy-garbage', 'while [ "$1" != --output ]; ' +
            'do shift; done\necho "not json" > "$2"');
        r = paved(['scan', '--image', image, '--trivy', garbage]);
        assert.equal(r.status, 1, r.what);
        assert.notEqual(r.stderr, '');
        const clean = stand('trivy-clean', 'while [ "$1" != --output ]; do ' +
            `shift; done\ncp '${path.join(CORPUS,
                'sl-micro-rancher5.4.json.golden')}' "$2"`);
        r = paved(['scan', '--image', image, '--trivy', clean]);
        assert.equal(r.status, 0, `a clean image passes: ${r.what}`);
    });
});
