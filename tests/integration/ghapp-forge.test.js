// [ghapp-forge] Self-test of the hand-written fake GitHub App of
// lib/ghapp-forge.js (no paved involved): that it is a strict oracle
// before checks.test.js trusts it. A JWT signed with the App's key is
// accepted and every kind of bad JWT refused (401); a repository the App
// is not installed on is 404; tokens are issued, expire, are bound to
// their installation and refused otherwise; check-run bodies are checked
// against GitHub's OpenAPI description (npm @octokit/openapi, checks/create
// and checks/update) and a deliberately bad body is 422 and listed; the
// fake's own answers conform to the operations' response schemas; state
// (status, conclusion, annotations across requests) is kept; faults answer
// without changing state; the GHE prefix; the JWT helper agrees with the
// openssl CLI; @octokit/fixtures really has no App/check-run scenario.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { validateSchema } from './lib/forge.js';
import {
    GH_ACCEPT, GH_API_VERSION, makeAppJwt, makeKeyPair, operation,
    startGhAppForge, verifyAppJwt,
} from './lib/ghapp-forge.js';
import { request } from './lib/http.js';

const require = createRequire(import.meta.url);
const SHA = 'a'.repeat(40);
const APP = '98765';

const H = (auth, extra = {}) => ({
    Accept: GH_ACCEPT,
    'User-Agent': 'paved',
    'X-GitHub-Api-Version': GH_API_VERSION,
    ...(auth ? { Authorization: auth } : {}),
    ...extra,
});
const JSONH = { 'Content-Type': 'application/json; charset=utf-8' };

async function withFake(opts, fn) {
    const gh = await startGhAppForge({ appId: APP,
        installations: { 111: ['acme/web', 'acme/api'], 222: ['other/x'] },
        ...opts });
    try {
        await fn(gh);
    } catch (e) {
        e.message += `\n--- fake ---\n${gh.describe()}`;
        throw e;
    } finally {
        await gh.close();
    }
}

const jwtOf = (gh, o = {}) => makeAppJwt({ privateKey: gh.privateKey,
    appId: gh.appId, ...o });

async function getToken(gh, inst = 111) {
    const r = await request(`${gh.url}/app/installations/${inst}/` +
        'access_tokens', { method: 'POST', headers: H(`Bearer ${jwtOf(gh)}`) });
    assert.equal(r.status, 201, r.text);
    return r.json.token;
}

const post = (gh, repo, token, body, raw) => request(
    `${gh.url}/repos/${repo}/check-runs`, { method: 'POST',
        headers: H(`token ${token}`, JSONH),
        body: raw ?? JSON.stringify(body) });
const patch = (gh, repo, id, token, body) => request(
    `${gh.url}/repos/${repo}/check-runs/${id}`, { method: 'PATCH',
        headers: H(`token ${token}`, JSONH), body: JSON.stringify(body) });

test('a JWT signed with the App\'s key: the installation lookup and the ' +
    'token exchange answer like GitHub (200 / 201, bodies conform to the ' +
    'response schemas); a repo not installed is 404', () => withFake({},
    async (gh) => {
        const jwt = jwtOf(gh);
        const r = await request(`${gh.url}/repos/acme/web/installation`,
            { headers: H(`Bearer ${jwt}`) });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.id, 111);
        const instSchema = operation('installation').responses['200'];
        assert.deepEqual(validateSchema(instSchema, r.json,
            { strictProps: false }), []);
        const other = await request(`${gh.url}/repos/other/x/installation`,
            { headers: H(`Bearer ${jwt}`) });
        assert.equal(other.json.id, 222);
        const none = await request(`${gh.url}/repos/acme/nope/installation`,
            { headers: H(`Bearer ${jwt}`) });
        assert.equal(none.status, 404);
        assert.equal(none.json.message, 'Not Found');

        const t = await request(`${gh.url}/app/installations/111/` +
            'access_tokens', { method: 'POST', headers: H(`Bearer ${jwt}`) });
        assert.equal(t.status, 201, t.text);
        assert.match(t.json.token, /^ghs_[A-Za-z0-9]{36}$/);
        assert.match(t.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const left = Date.parse(t.json.expires_at) - Date.now();
        assert.ok(left > 3500_000 && left <= 3600_000, `${left}`);
        assert.deepEqual(validateSchema(operation('accessToken')
            .responses['201'], t.json, { strictProps: false }), []);
        const unknown = await request(`${gh.url}/app/installations/999/` +
            'access_tokens', { method: 'POST', headers: H(`Bearer ${jwt}`) });
        assert.equal(unknown.status, 404);
        assert.equal(gh.lookups().length, 3);
        assert.equal(gh.exchanges().length, 2);
        assert.equal(gh.tokenGrants().length, 1);
        assert.deepEqual(gh.schemaErrors(), []);
        assert.deepEqual(gh.headerProblems(), []);
    }));

test('bad JWTs are refused 401: another key, another iss, expired, ' +
    'exp - iat > 600, iat in the future, alg none / HS256, unsigned, ' +
    'garbage, a token instead of a JWT, no Authorization', () => withFake({},
    async (gh) => {
        const now = Math.floor(Date.now() / 1000);
        const other = makeKeyPair();
        const hs = (() => {
            const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
                .toString('base64url');
            const p = Buffer.from(JSON.stringify({ iat: now - 60,
                exp: now + 540, iss: APP })).toString('base64url');
            const crypto = require('node:crypto');
            const s = crypto.createHmac('sha256', gh.publicKey)
                .update(`${h}.${p}`).digest('base64url');
            return `${h}.${p}.${s}`;
        })();
        const bad = {
            'another key': makeAppJwt({ privateKey: other.privateKey,
                appId: APP }),
            'another iss': jwtOf(gh, { claims: { iss: '1' } }),
            'no iss': jwtOf(gh, { claims: { iss: undefined } }),
            expired: jwtOf(gh, { claims: { iat: now - 700, exp: now - 100 } }),
            'exp - iat = 601': jwtOf(gh, { claims: { iat: now - 60,
                exp: now + 541 } }),
            'exp 11 minutes ahead': jwtOf(gh, { claims: { iat: now,
                exp: now + 660 } }),
            'iat in the future': jwtOf(gh, { claims: { iat: now + 120,
                exp: now + 300 } }),
            'iat not an integer': jwtOf(gh, { claims: { iat: 'yesterday' } }),
            'alg none': jwtOf(gh, { header: { alg: 'none' }, sign: false }),
            'HS256 keyed with the public key': hs,
            'unsigned RS256': jwtOf(gh, { sign: false }),
            garbage: 'not.a.jwt',
        };
        for (const [why, jwt] of Object.entries(bad)) {
            for (const url of [`${gh.url}/repos/acme/web/installation`,
                `${gh.url}/app/installations/111/access_tokens`]) {
                const method = url.endsWith('tokens') ? 'POST' : 'GET';
                const r = await request(url, { method,
                    headers: H(`Bearer ${jwt}`) });
                assert.equal(r.status, 401, `${why} ${method}: ${r.text}`);
                assert.equal(typeof r.json.message, 'string');
            }
        }
        // a valid JWT with the wrong scheme, and none at all
        const good = jwtOf(gh);
        assert.equal((await request(`${gh.url}/repos/acme/web/installation`,
            { headers: H(`token ${good}`) })).status, 401);
        assert.equal((await request(`${gh.url}/repos/acme/web/installation`,
            { headers: H(null) })).status, 401);
        // the checker agrees on a fresh good one, and says why for a bad one
        assert.equal(verifyAppJwt(good, { publicKey: gh.publicKey,
            appId: APP }).ok, true);
        assert.match(verifyAppJwt(bad.expired, { publicKey: gh.publicKey,
            appId: APP }).why, /exp/);
        assert.equal(gh.tokenGrants().length, 0, 'a token was issued');
    }));

test('check runs: created and updated with a live token of the right ' +
    'installation; state and annotations kept across requests; answers ' +
    'conform to the check-run schema', () => withFake({}, async (gh) => {
    const tk = await getToken(gh);
    const c = await post(gh, 'acme/web', tk, { name: 'paved/ci',
        head_sha: SHA, details_url: 'https://x.test/api/v1/runs/1',
        external_id: '1', status: 'in_progress',
        output: { title: 'running', summary: '| step |' } });
    assert.equal(c.status, 201, c.text);
    const crSchema = operation('create').responses['201'];
    assert.deepEqual(validateSchema(crSchema, c.json, { strictProps: false }),
        []);
    assert.ok(c.json.id > 2 ** 32, 'ids past 32 bits');
    const ann = (i) => ({ path: `src/f${i}.c`, start_line: i + 1,
        end_line: i + 1, annotation_level: 'warning', message: `m${i}` });
    const u1 = await patch(gh, 'acme/web', c.json.id, tk, { name: 'paved/ci',
        status: 'completed', conclusion: 'failure',
        output: { title: 'failed', summary: 's', text: 'log tail',
            annotations: Array.from({ length: 50 }, (_, i) => ann(i)) } });
    assert.equal(u1.status, 200, u1.text);
    assert.deepEqual(validateSchema(operation('update').responses['200'],
        u1.json, { strictProps: false }), []);
    const u2 = await patch(gh, 'acme/web', c.json.id, tk, {
        status: 'completed', conclusion: 'failure',
        output: { title: 'failed', summary: 's',
            annotations: Array.from({ length: 7 }, (_, i) => ann(50 + i)) } });
    assert.equal(u2.status, 200, u2.text);
    assert.equal(u2.json.output.annotations_count, 57);
    const cr = gh.checkRun(c.json.id);
    assert.equal(cr.status, 'completed');
    assert.equal(cr.conclusion, 'failure');
    assert.equal(cr.output.text, 'log tail', 'text kept when not resent');
    assert.equal(cr.annotations.length, 57);
    assert.deepEqual(cr.annotations.map((a) => a.start_line),
        Array.from({ length: 57 }, (_, i) => i + 1));
    assert.deepEqual(cr.transitions.map((x) => `${x.status}/${x.conclusion}`),
        ['in_progress/null', 'completed/failure']);
    assert.equal(cr.details_url, 'https://x.test/api/v1/runs/1');
    assert.deepEqual(gh.find({ external_id: 1 }).map((x) => x.id),
        [c.json.id]);
    // unknown id, or the id under another repo: 404
    assert.equal((await patch(gh, 'acme/web', 1, tk, { status: 'queued' }))
        .status, 404);
    assert.equal((await patch(gh, 'acme/api', c.json.id, tk,
        { status: 'queued' })).status, 404);
    assert.deepEqual(gh.schemaErrors(), []);
    assert.deepEqual(gh.headerProblems(), []);
}));

test('listing a commit\'s check runs (checks/list-for-ref): by name, ' +
    'all or latest, paged; the answer conforms to the schema; a bad query ' +
    'is 422; a token is needed', () => withFake({}, async (gh) => {
    const tk = await getToken(gh);
    const mk = (name, ext) => post(gh, 'acme/web', tk, { name,
        head_sha: SHA, external_id: ext,
        output: { title: 't', summary: 's' } });
    const a1 = (await mk('paved/ci', '1')).json.id;
    const a2 = (await mk('paved/ci', '2')).json.id;
    await mk('paved/lint', '3');
    const list = (q) => request(`${gh.url}/repos/acme/web/commits/${SHA}/` +
        `check-runs${q}`, { headers: H(`token ${tk}`) });
    const all = await list('?check_name=paved%2Fci&filter=all&per_page=100');
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(validateSchema(operation('list').responses['200'],
        all.json, { strictProps: false }), []);
    assert.equal(all.json.total_count, 2);
    assert.deepEqual(all.json.check_runs.map((c) => c.id), [a2, a1]);
    assert.deepEqual(all.json.check_runs.map((c) => c.external_id),
        ['2', '1']);
    const latest = await list('?check_name=paved%2Fci');
    assert.deepEqual(latest.json.check_runs.map((c) => c.id), [a2]);
    const paged = await list('?filter=all&per_page=2');
    assert.equal(paged.json.total_count, 3);
    assert.equal(paged.json.check_runs.length, 2);
    assert.match(String(paged.headers.link), /page=2.*rel="next"/);
    const other = await request(`${gh.url}/repos/acme/web/commits/${
        'b'.repeat(40)}/check-runs`, { headers: H(`token ${tk}`) });
    assert.equal(other.json.total_count, 0);
    assert.deepEqual(gh.schemaErrors(), []);
    for (const bad of ['?filter=newest', '?per_page=101', '?status=done',
        '?colour=red']) {
        const r = await list(bad);
        assert.equal(r.status, 422, `${bad}: ${r.status}`);
    }
    assert.equal(gh.schemaErrors().length, 4);
    const noAuth = await request(`${gh.url}/repos/acme/web/commits/${SHA}/` +
        'check-runs', { headers: H(null) });
    assert.equal(noAuth.status, 401);
    assert.equal(gh.listRequests().length, 9);
}));

test('check-run tokens: another installation\'s, an expired one, a ' +
    'revoked one, an unknown one, Bearer instead of token, a JWT: all 401 ' +
    'and nothing created', () => withFake({}, async (gh) => {
    const body = { name: 'paved/ci', head_sha: SHA, status: 'queued',
        output: { title: 't', summary: 's' } };
    const tOther = await getToken(gh, 222);
    assert.equal((await post(gh, 'acme/web', tOther, body)).status, 401);
    gh.setTokenTtl(-1);
    const tDead = await getToken(gh);
    assert.equal((await post(gh, 'acme/web', tDead, body)).status, 401);
    gh.setTokenTtl(3600);
    const tRevoked = await getToken(gh);
    gh.revokeTokens();
    assert.equal((await post(gh, 'acme/web', tRevoked, body)).status, 401);
    assert.equal((await post(gh, 'acme/web', 'ghs_' + 'x'.repeat(36), body))
        .status, 401);
    const tk = await getToken(gh);
    const r = await request(`${gh.url}/repos/acme/web/check-runs`, {
        method: 'POST', headers: H(`Bearer ${tk}`, JSONH),
        body: JSON.stringify(body) });
    assert.equal(r.status, 401);
    assert.equal((await post(gh, 'acme/web', jwtOf(gh), body)).status, 401);
    assert.equal(gh.checkRuns().length, 0);
    assert.equal(gh.authFailures().length, 6);
    // and the good one works, also on the other repo of the installation
    assert.equal((await post(gh, 'acme/api', tk, body)).status, 201);
}));

test('schema errors are caught: deliberately bad check-run bodies are 422 ' +
    'and listed (OpenAPI checks/create and checks/update, and GitHub\'s ' +
    'rules beyond it)', () => withFake({}, async (gh) => {
    const tk = await getToken(gh);
    const ok = await post(gh, 'acme/web', tk, { name: 'paved/ci',
        head_sha: SHA, output: { title: 't', summary: 's' } });
    assert.equal(ok.status, 201);
    const ann = { path: 'a', start_line: 1, end_line: 1,
        annotation_level: 'notice', message: 'm' };
    const bad = [
        ['status "running"', { name: 'n', head_sha: SHA, status: 'running' }],
        ['no head_sha', { name: 'n' }],
        ['no name', { head_sha: SHA }],
        ['conclusion "error"', { name: 'n', head_sha: SHA,
            status: 'completed', conclusion: 'error' }],
        ['output without summary', { name: 'n', head_sha: SHA,
            output: { title: 't' } }],
        ['51 annotations', { name: 'n', head_sha: SHA, output: { title: 't',
            summary: 's', annotations: Array(51).fill(ann) } }],
        ['annotation level "error"', { name: 'n', head_sha: SHA,
            output: { title: 't', summary: 's', annotations: [{ ...ann,
                annotation_level: 'error' }] } }],
        ['annotation line "1"', { name: 'n', head_sha: SHA,
            output: { title: 't', summary: 's', annotations: [{ ...ann,
                start_line: '1' }] } }],
        ['text over 65535', { name: 'n', head_sha: SHA, output: {
            title: 't', summary: 's', text: 'x'.repeat(65536) } }],
        ['an unknown property', { name: 'n', head_sha: SHA, state: 'x' }],
        ['rule: completed without conclusion', { name: 'n', head_sha: SHA,
            status: 'completed' }],
        ['rule: a short sha', { name: 'n', head_sha: 'abc123' }],
        ['rule: columns over two lines', { name: 'n', head_sha: SHA,
            output: { title: 't', summary: 's', annotations: [{ ...ann,
                end_line: 2, start_column: 1, end_column: 3 }] } }],
    ];
    for (const [why, body] of bad) {
        const r = await post(gh, 'acme/web', tk, body);
        assert.equal(r.status, 422, `${why}: ${r.status} ${r.text}`);
        assert.match(r.json.message, /^Invalid request/);
    }
    const notJson = await post(gh, 'acme/web', tk, null, '{"name":');
    assert.equal(notJson.status, 422);
    const upd = await patch(gh, 'acme/web', ok.json.id, tk,
        { status: 'completed' });
    assert.equal(upd.status, 422, `update completed without conclusion: ` +
        upd.text);
    assert.equal(gh.schemaErrors().length, bad.length + 2);
    assert.equal(gh.checkRuns().length, 1, 'a refused body created a run');
    assert.equal(gh.checkRun(ok.json.id).status, 'queued');
    // headers GitHub wants are checked too (recorded, not refused)
    await request(`${gh.url}/repos/acme/web/check-runs`, { method: 'POST',
        headers: { Authorization: `token ${tk}`, ...JSONH,
            'User-Agent': 'curl' },
        body: JSON.stringify({ name: 'n', head_sha: SHA }) });
    assert.equal(gh.headerProblems().length, 1);
    assert.equal(gh.headerProblems()[0].problems.length, 3);
}));

test('faults: onRequest and enqueue answer before the fake and change no ' +
    'state; {real: true, close: true} changes state and drops the answer; ' +
    'refuse/accept on the same port; the GHE prefix', () =>
    withFake({ prefix: '/api/v3' }, async (gh) => {
        assert.match(gh.url, /\/api\/v3$/);
        const tk = await getToken(gh);
        const body = { name: 'paved/ci', head_sha: SHA,
            output: { title: 't', summary: 's' } };
        gh.enqueue({ status: 503, body: { message: 'down' } });
        assert.equal((await post(gh, 'acme/web', tk, body)).status, 503);
        assert.equal(gh.checkRuns().length, 0);
        let n = 0;
        gh.onRequest((rec) => (rec.op === 'create' && n++ === 0
            ? { real: true, close: true } : undefined));
        await assert.rejects(post(gh, 'acme/web', tk, body));
        assert.equal(gh.checkRuns().length, 1, 'created, answer lost');
        gh.healthy();
        const port = gh.port;
        await gh.refuse();
        await assert.rejects(post(gh, 'acme/web', tk, body),
            /ECONNREFUSED/);
        await gh.accept();
        assert.equal(gh.port, port);
        assert.equal((await post(gh, 'acme/web', tk, body)).status, 201);
        // outside the prefix: 404, recorded as such
        const r = await request(`http://127.0.0.1:${gh.port}/repos/acme/` +
            'web/installation', { headers: H(`Bearer ${jwtOf(gh)}`) });
        assert.equal(r.status, 404);
        assert.equal(gh.requests.at(-1).prefixed, false);
        assert.equal(gh.checkRuns().length, 2);
    }));

test('the JWT helper and checker agree with the openssl CLI (RS256 over ' +
    '"header.payload" with the App\'s public key)', () => withFake({},
    async (gh) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghapp-self-'));
        try {
            const jwt = jwtOf(gh);
            const [h, p, s] = jwt.split('.');
            fs.writeFileSync(path.join(dir, 'pub.pem'), gh.publicKey);
            fs.writeFileSync(path.join(dir, 'data'), `${h}.${p}`);
            fs.writeFileSync(path.join(dir, 'sig'), Buffer.from(s,
                'base64url'));
            const out = execFileSync('openssl', ['dgst', '-sha256', '-verify',
                path.join(dir, 'pub.pem'), '-signature', path.join(dir, 'sig'),
                path.join(dir, 'data')], { encoding: 'utf8' });
            assert.match(out, /Verified OK/);
            assert.match(gh.privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }));

test('@octokit/fixtures has no scenario with an App token exchange or a ' +
    'check run (why lib/ghapp-forge.js is hand-written)', () => {
    const dir = path.join(path.dirname(require.resolve(
        '@octokit/fixtures/package.json')), 'scenarios', 'api.github.com');
    const hits = [];
    for (const sc of fs.readdirSync(dir)) {
        const f = path.join(dir, sc, 'normalized-fixture.json');
        if (!fs.existsSync(f))
            continue;
        for (const r of JSON.parse(fs.readFileSync(f, 'utf8'))) {
            if (/\/check-runs|\/app\/installations|\/installation$/
                .test(String(r.path)))
                hits.push(`${sc}: ${r.method} ${r.path}`);
        }
    }
    assert.deepEqual(hits, []);
});
