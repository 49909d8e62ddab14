// The daemon's log on stderr: exactly one `msg=request` line per request with
// the method, path and status it answered, the delivery id on webhook lines,
// and never a configured secret or token, whatever the request got wrong.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import {
    hmacHex, postGithub, request, sleep, standardWebhookSignature, uuid,
} from './lib/http.js';

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples');
const PUSH = JSON.stringify(index.find((e) => e.name === 'push').examples
    .find((p) => p.ref === 'refs/heads/master'));
const SECRETS = {
    PAVED_GITHUB_SECRET: 'int-log-gh-old-1a2b3c,int-log-gh-new-4d5e6f',
    PAVED_GITEA_SECRET: 'int-log-gitea-7a8b9c',
    PAVED_GITLAB_TOKEN: 'int-log-gitlab-token-0d1e',
    PAVED_GITLAB_SIGNING_SECRET: 'whsec_' +
        crypto.randomBytes(32).toString('base64'),
    PAVED_API_TOKEN: 'int-log-api-token-2f3a',
};

// key=value pairs of a logfmt line (values may be "quoted")
function logfmt(line) {
    const out = {};
    const re = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
    let m;
    while ((m = re.exec(line)) !== null) {
        let v = m[2];
        if (v.startsWith('"'))
            v = JSON.parse(v);
        out[m[1]] = v;
    }
    return out;
}

let d;
before(async () => {
    d = await startDaemon({ env: { ...SECRETS } });
});
after(() => stopAndCheck(d));

test('one msg=request line per request, with what was answered', () =>
    withStderr(d, async () => {
        const [gh0, gh1] = SECRETS.PAVED_GITHUB_SECRET.split(',');
        const bearer = { Authorization: `Bearer ${SECRETS.PAVED_API_TOKEN}` };
        const expected = []; // {method, path, status, delivery?}
        const note = (method, path, r, delivery) => {
            expected.push({ method, path, status: r.status, delivery });
            return r;
        };

        let r = await postGithub(d, { secret: gh1, event: 'push', body: PUSH });
        assert.equal(r.status, 202, r.text);
        note('POST', '/hooks/github', r, r.delivery);
        r = await postGithub(d, { secret: gh0, event: 'push', body: PUSH });
        assert.equal(r.status, 202, r.text);
        note('POST', '/hooks/github', r, r.delivery);
        // refusals carrying secrets in odd places
        r = await postGithub(d, { event: 'push', body: PUSH,
            sigHeader: `sha256=${gh0}` });
        assert.equal(r.status, 401);
        note('POST', '/hooks/github', r, r.delivery);
        r = await postGithub(d, { secret: 'wrong', event: 'push', body: PUSH });
        assert.equal(r.status, 401);
        note('POST', '/hooks/github', r, r.delivery);
        r = await postGithub(d, { secret: gh0, event: 'push',
            body: PUSH.slice(0, 100) });
        assert.equal(r.status, 400);
        note('POST', '/hooks/github', r, r.delivery);

        const body = Buffer.from(PUSH);
        r = await request(`${d.url}/hooks/gitea`, { method: 'POST', body,
            headers: { 'Content-Type': 'application/json',
                'X-Gitea-Event': 'push', 'X-Gitea-Delivery': uuid(),
                'X-Gitea-Signature': hmacHex('sha256', 'x', body) } });
        assert.equal(r.status, 401);
        note('POST', '/hooks/gitea', r);
        // GitLab: right token, signature made with the token as key
        const ts = Math.floor(Date.now() / 1000);
        r = await request(`${d.url}/hooks/gitlab`, { method: 'POST', body,
            headers: { 'Content-Type': 'application/json',
                'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': uuid(),
                'X-Gitlab-Token': SECRETS.PAVED_GITLAB_TOKEN,
                'webhook-id': 'msg_1', 'webhook-timestamp': String(ts),
                'webhook-signature': standardWebhookSignature(
                    'whsec_' + Buffer.from('nope').toString('base64'),
                    'msg_1', ts, body) } });
        assert.equal(r.status, 401);
        note('POST', '/hooks/gitlab', r);
        r = await request(`${d.url}/hooks/gitlab`, { method: 'POST', body,
            headers: { 'Content-Type': 'application/json',
                'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': uuid(),
                'X-Gitlab-Token': SECRETS.PAVED_GITLAB_TOKEN + 'x' } });
        assert.equal(r.status, 401);
        note('POST', '/hooks/gitlab', r);

        note('GET', '/healthz', await request(`${d.url}/healthz`));
        note('GET', '/metrics', await request(`${d.url}/metrics`));
        r = await request(`${d.url}/api/v1/deliveries`, {
            headers: { Authorization: `Bearer ${SECRETS.PAVED_API_TOKEN}-x` } });
        assert.equal(r.status, 401);
        note('GET', '/api/v1/deliveries', r);
        r = await request(`${d.url}/api/v1/deliveries?limit=5`,
            { headers: bearer });
        assert.equal(r.status, 200, r.text);
        note('GET', '/api/v1/deliveries', r);
        note('GET', '/nope', await request(`${d.url}/nope`));

        // the line for the last request may be written just after the answer
        let lines = [];
        for (let i = 0; i < 50; i++) {
            lines = d.stderr().split('\n').filter((l) =>
                /(^|\s)msg=request(\s|$)/.test(l));
            if (lines.length >= expected.length)
                break;
            await sleep(50);
        }
        await sleep(200);
        lines = d.stderr().split('\n').filter((l) =>
            /(^|\s)msg=request(\s|$)/.test(l));
        assert.equal(lines.length, expected.length,
            `want ${expected.length} msg=request lines, got:\n` +
            lines.join('\n'));
        lines.forEach((line, i) => {
            const kv = logfmt(line);
            const want = expected[i];
            assert.equal(kv.method, want.method, line);
            // the path is logged without the query string or with it
            assert.equal((kv.path ?? '').split('?')[0], want.path, line);
            assert.equal(Number(kv.status), want.status, line);
            assert.match(kv.dur_ms ?? '', /^\d+(\.\d+)?$/, `dur_ms: ${line}`);
            if (want.delivery && want.status === 202) {
                assert.equal(kv.delivery, want.delivery, line);
                assert.equal(kv.forge, 'github', line);
                assert.equal(kv.event, 'push', line);
            }
        });
    }));

test('no configured secret appears anywhere in the output', () =>
    withStderr(d, async () => {
        const out = d.stderr() + d.stdout();
        assert.ok(out.includes('msg=ready'), 'stderr not captured');
        for (const [k, v] of Object.entries(SECRETS)) {
            for (const s of v.split(',')) {
                assert.equal(out.includes(s), false, `${k} value logged`);
                const bare = s.replace(/^whsec_/, '');
                assert.equal(out.includes(bare), false, `${k} key logged`);
            }
        }
    }));
