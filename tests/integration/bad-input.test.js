// What the ingress must refuse, and that a refusal stores nothing: bad and
// missing signatures, missing headers, broken bodies, wrong content types,
// bodies over the limit (answered without reading them), slow and trickling
// clients, duplicates, secret rotation, legacy SHA-1, and a full store (503)
// that must not lose any delivery it already acknowledged.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import {
    deliveryCount, githubSignature, hmacHex, metricValue, parseMetrics,
    postGithub, rawExchange, request, sleep, sql, uuid,
} from './lib/http.js';

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples');
const pushExample = index.find((e) => e.name === 'push').examples
    .find((p) => p.ref === 'refs/heads/master');
const PUSH = JSON.stringify(pushExample);
const SECRET = 'int-bad-input-secret-0c11';
const GITEA_SECRET = 'int-bad-input-gitea-77aa';

function assertErrorBody(r, label) {
    assert.ok(r.json && typeof r.json.error === 'string' &&
        r.json.error.length > 0,
    `${label}: error body should be {"error":"..."}, got ${JSON.stringify(r.text)}`);
}

// A push payload of exactly `size` bytes (padding inside a JSON string).
function pushOfSize(size) {
    const base = JSON.stringify({ ...pushExample, paved_padding: '' });
    const pad = size - Buffer.byteLength(base);
    assert.ok(pad >= 0, `size ${size} below ${Buffer.byteLength(base)}`);
    const body = JSON.stringify({ ...pushExample, paved_padding: 'x'.repeat(pad) });
    assert.equal(Buffer.byteLength(body), size);
    return body;
}

describe('refusals store nothing', () => {
    let d;
    const outcomes = { unauthorized: 0, invalid: 0, unsupported: 0,
        duplicate: 0 };

    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET,
            PAVED_GITEA_SECRET: GITEA_SECRET,
            PAVED_MAX_BODY: '64KiB',
            PAVED_READ_TIMEOUT: '2s',
        } });
        // one good delivery so "unchanged" is not trivially zero
        const r = await postGithub(d, { secret: SECRET, event: 'push', body: PUSH });
        assert.equal(r.status, 202, r.text);
    });
    after(() => stopAndCheck(d));

    // Runs one refused request and checks status, error body and the store.
    async function refused(label, status, outcome, send) {
        const before = deliveryCount(d.dbPath);
        const r = await send();
        assert.equal(r.status, status, `${label}: got ${r.status} ${r.text}`);
        // libevent writes the 413 itself (its HTML page) before paved sees
        // the request; every answer of paved's own is {"error": ...}
        if (status !== 413)
            assertErrorBody(r, label);
        if (outcome)
            outcomes[outcome] += 1;
        assert.equal(deliveryCount(d.dbPath), before,
            `${label}: store changed`);
        return r;
    }

    test('tampered body -> 401', () => withStderr(d, () =>
        refused('tampered', 401, 'unauthorized', async () => {
            const sig = await githubSignature(SECRET, PUSH);
            const tampered = PUSH.replace('"Codertocat/Hello-World"',
                '"Codertocat/Hello-Worle"');
            assert.notEqual(tampered, PUSH);
            return postGithub(d, { event: 'push', body: tampered, sigHeader: sig });
        })));

    test('wrong secret -> 401', () => withStderr(d, () =>
        refused('wrong secret', 401, 'unauthorized', () =>
            postGithub(d, { secret: 'not-' + SECRET, event: 'push', body: PUSH }))));

    test('missing X-Hub-Signature-256 -> 401', () => withStderr(d, () =>
        refused('no signature', 401, 'unauthorized', () =>
            postGithub(d, { event: 'push', body: PUSH, sigHeader: null }))));

    test('malformed signature headers -> 401', () => withStderr(d, async () => {
        const good = await githubSignature(SECRET, PUSH);
        const hex = good.slice('sha256='.length);
        const cases = [
            'sha256=zz',
            `md5=${hmacHex('md5', SECRET, PUSH)}`,
            `sha256=${hex.slice(0, 63)}`,          // one digit short
            `sha256=${hex}00`,                     // one byte long
            `SHA256=${'g'.repeat(64)}`,
            hex,                                   // no algorithm prefix
            '',
        ];
        for (const h of cases) {
            await refused(`signature ${JSON.stringify(h)}`, 401, 'unauthorized',
                () => postGithub(d, { event: 'push', body: PUSH, sigHeader: h }));
        }
    }));

    test('missing X-GitHub-Event -> 400', () => withStderr(d, () =>
        refused('no event', 400, 'invalid', () =>
            postGithub(d, { secret: SECRET, event: undefined, body: PUSH }))));

    test('missing X-GitHub-Delivery -> 400', () => withStderr(d, () =>
        refused('no delivery', 400, 'invalid', () =>
            postGithub(d, { secret: SECRET, event: 'push', body: PUSH,
                delivery: null }))));

    test('truncated JSON with a valid signature -> 400', () =>
        withStderr(d, async () => {
            for (const cut of [1, PUSH.length >> 1, PUSH.length - 1]) {
                await refused(`truncated at ${cut}`, 400, 'invalid', () =>
                    postGithub(d, { secret: SECRET, event: 'push',
                        body: PUSH.slice(0, cut) }));
            }
        }));

    test('form body without payload= -> 400', () => withStderr(d, () =>
        refused('form without payload', 400, 'invalid', () =>
            postGithub(d, { secret: SECRET, event: 'push',
                body: 'paylod=' + encodeURIComponent(PUSH),
                contentType: 'application/x-www-form-urlencoded' }))));

    test('text/plain -> 415', () => withStderr(d, () =>
        refused('text/plain', 415, 'unsupported', () =>
            postGithub(d, { secret: SECRET, event: 'push', body: PUSH,
                contentType: 'text/plain' }))));

    test('wrong method -> 405, unknown path -> 404', () =>
        withStderr(d, async () => {
            const before = deliveryCount(d.dbPath);
            const g = await request(`${d.url}/hooks/github`);
            assert.equal(g.status, 405, g.text);
            const p = await request(`${d.url}/hooks/nope`, {
                method: 'POST', body: PUSH,
                headers: { 'Content-Type': 'application/json' } });
            assert.equal(p.status, 404, p.text);
            assert.equal(deliveryCount(d.dbPath), before);
        }));

    test('body exactly at PAVED_MAX_BODY is accepted', () =>
        withStderr(d, async () => {
            const body = pushOfSize(64 * 1024);
            const r = await postGithub(d, { secret: SECRET, event: 'push', body });
            assert.equal(r.status, 202, `${r.status} ${r.text}`);
        }));

    test('one byte over PAVED_MAX_BODY -> 413', () => withStderr(d, () =>
        refused('64KiB+1', 413, null, () =>
            postGithub(d, { secret: SECRET, event: 'push',
                body: pushOfSize(64 * 1024 + 1) }))));

    // paved keeps libevent's lingering close: an announced Content-Length
    // over the cap is refused before anything is buffered, the body is
    // read and dropped, and only then the 413 goes out, so a forge sees
    // the 413 and not a TCP reset (docs/architecture.md).
    test('Content-Length over the limit: body dropped, then 413',
        () => withStderr(d, async () => {
            const before = deliveryCount(d.dbPath);
            const r = await rawExchange(d.addr, async (sock, isDone) => {
                sock.write('POST /hooks/github HTTP/1.1\r\n' +
                    `Host: ${d.addr}\r\n` +
                    'Content-Type: application/json\r\n' +
                    'X-GitHub-Event: push\r\n' +
                    `X-GitHub-Delivery: ${uuid()}\r\n` +
                    `X-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\n` +
                    'Content-Length: 1048576\r\n\r\n');
                const chunk = 'x'.repeat(64 * 1024);
                for (let i = 0; i < 16 && !isDone(); i++) {
                    sock.write(chunk);
                    await sleep(5);
                }
            }, { waitMs: 10000 });
            assert.match(r.data, /^HTTP\/1\.[01] 413 /,
                `want a 413 once the body was sent; got ` +
                `${JSON.stringify(r.data.slice(0, 200))} closed=${r.closed}`);
            assert.equal(deliveryCount(d.dbPath), before);
        }));

    test('Content-Length over the limit, body never sent: cut, nothing stored',
        () => withStderr(d, async () => {
            const before = deliveryCount(d.dbPath);
            const r = await rawExchange(d.addr, (sock) => {
                sock.write('POST /hooks/github HTTP/1.1\r\n' +
                    `Host: ${d.addr}\r\n` +
                    'Content-Type: application/json\r\n' +
                    'X-GitHub-Event: push\r\n' +
                    `X-GitHub-Delivery: ${uuid()}\r\n` +
                    'Content-Length: 10485760\r\n\r\n' +
                    '{"zen":"' + 'x'.repeat(1024));
                // and then nothing: the idle timeout ends it
            }, { waitMs: 15000 });
            assert.ok(r.closed, 'connection still open after 15 s');
            assert.equal(deliveryCount(d.dbPath), before);
        }));

    test('chunked body over the limit -> 413', () => withStderr(d, async () => {
        const before = deliveryCount(d.dbPath);
        const r = await rawExchange(d.addr, async (sock, isDone) => {
            sock.write('POST /hooks/github HTTP/1.1\r\n' +
                `Host: ${d.addr}\r\n` +
                'Content-Type: application/json\r\n' +
                'X-GitHub-Event: push\r\n' +
                `X-GitHub-Delivery: ${uuid()}\r\n` +
                `X-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\n` +
                'Transfer-Encoding: chunked\r\n\r\n');
            const chunk = 'x'.repeat(16 * 1024);
            // 96 KiB in 6 chunks, then stop (no terminating chunk) and wait
            for (let i = 0; i < 6 && !isDone(); i++) {
                sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
                await sleep(20);
            }
        }, { waitMs: 5000 });
        assert.match(r.data, /^HTTP\/1\.[01] 413 /,
            `got ${JSON.stringify(r.data.slice(0, 200))} closed=${r.closed} ` +
            `error=${r.error?.code}`);
        assert.equal(deliveryCount(d.dbPath), before);
    }));

    test('duplicate delivery id -> 200 duplicate, nothing stored', () =>
        withStderr(d, async () => {
            const id = uuid();
            const first = await postGithub(d, { secret: SECRET, event: 'push',
                body: PUSH, delivery: id });
            assert.equal(first.status, 202, first.text);
            const n = deliveryCount(d.dbPath);
            for (let i = 0; i < 2; i++) {
                const again = await postGithub(d, { secret: SECRET,
                    event: 'push', body: PUSH, delivery: id });
                assert.equal(again.status, 200, again.text);
                assert.deepEqual(again.json, { delivery: id, status: 'duplicate' });
                outcomes.duplicate += 1;
            }
            assert.equal(deliveryCount(d.dbPath), n);
            const rows = sql(d.dbPath, `SELECT count(*) AS n FROM deliveries ` +
                `WHERE forge='github' AND delivery_id='${id}'`);
            assert.equal(rows[0].n, 1);
            // the same id from another forge is another delivery
            const body = Buffer.from(PUSH);
            const g = await request(`${d.url}/hooks/gitea`, {
                method: 'POST', body,
                headers: { 'Content-Type': 'application/json',
                    'X-Gitea-Event': 'push', 'X-Gitea-Delivery': id,
                    'X-Gitea-Signature': hmacHex('sha256', GITEA_SECRET, body) },
            });
            assert.equal(g.status, 202, `gitea same id: ${g.status} ${g.text}`);
            assert.equal(deliveryCount(d.dbPath), n + 1);
        }));

    test('SHA-1 only header without PAVED_GITHUB_ALLOW_SHA1 -> 401', () =>
        withStderr(d, () => refused('sha1 only', 401, 'unauthorized', () =>
            postGithub(d, { event: 'push', body: PUSH, sigHeader: null,
                extra: { 'X-Hub-Signature':
                    `sha1=${hmacHex('sha1', SECRET, PUSH)}` } }))));

    test('metrics count each refusal by outcome', () => withStderr(d, async () => {
        const m = await request(`${d.url}/metrics`);
        assert.equal(m.status, 200);
        const s = parseMetrics(m.text);
        for (const [outcome, n] of Object.entries(outcomes)) {
            assert.equal(metricValue(s, 'paved_webhook_deliveries_total',
                { forge: 'github', outcome }) ?? 0, n,
            `paved_webhook_deliveries_total{outcome="${outcome}"}`);
        }
        // libevent refuses an over-long body before paved knows the forge
        assert.ok((metricValue(s, 'paved_webhook_deliveries_total',
            { forge: 'unknown', outcome: 'too_large' }) ?? 0) >= 1,
        'no too_large outcome counted');
    }));

    test('still healthy after all that', () => withStderr(d, async () => {
        const h = await request(`${d.url}/healthz`);
        assert.equal(h.status, 200);
        const r = await postGithub(d, { secret: SECRET, event: 'push', body: PUSH });
        assert.equal(r.status, 202, r.text);
    }));
});

describe('slow clients are cut off', () => {
    let d;
    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET,
            PAVED_READ_TIMEOUT: '1s',
            PAVED_REQUEST_TIMEOUT: '2s',
        } });
    });
    after(() => stopAndCheck(d));

    test('half the headers, then silence: closed (read_timeout)', () =>
        withStderr(d, async () => {
            const r = await rawExchange(d.addr, (sock) => {
                sock.write('POST /hooks/github HTTP/1.1\r\n' +
                    `Host: ${d.addr}\r\nContent-Type: appl`);
            }, { waitMs: 10_000 });
            assert.equal(r.closed, true, 'server kept an idle half request ' +
                'open for 10 s with read_timeout=1s');
        }));

    test('headers, part of the body, then silence: closed', () =>
        withStderr(d, async () => {
            const r = await rawExchange(d.addr, (sock) => {
                sock.write('POST /hooks/github HTTP/1.1\r\n' +
                    `Host: ${d.addr}\r\nContent-Type: application/json\r\n` +
                    'X-GitHub-Event: push\r\n' +
                    `X-GitHub-Delivery: ${uuid()}\r\n` +
                    'Content-Length: 1000\r\n\r\n{"ref":');
            }, { waitMs: 10_000 });
            assert.equal(r.closed, true, 'idle body not cut off in 10 s');
        }));

    test('one byte every 500 ms: closed (request_timeout)', () =>
        withStderr(d, async () => {
            const body = PUSH;
            const sig = await githubSignature(SECRET, body);
            const req = 'POST /hooks/github HTTP/1.1\r\n' +
                `Host: ${d.addr}\r\nContent-Type: application/json\r\n` +
                'X-GitHub-Event: push\r\n' +
                `X-GitHub-Delivery: ${uuid()}\r\n` +
                `X-Hub-Signature-256: ${sig}\r\n` +
                `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
            const before = deliveryCount(d.dbPath);
            const r = await rawExchange(d.addr, async (sock, isDone) => {
                for (let i = 0; i < req.length && !isDone(); i++) {
                    sock.write(req[i]);
                    await sleep(500);
                }
            }, { waitMs: 10_000 });
            assert.equal(r.closed, true, 'trickling client not cut off in 10 s ' +
                'with request_timeout=2s');
            assert.ok(r.closeMs >= 1000, `closed after ${r.closeMs} ms: ` +
                'sooner than read_timeout, so not a trickle cut-off');
            assert.equal(deliveryCount(d.dbPath), before);
        }));

    test('a normal request still works afterwards', () =>
        withStderr(d, async () => {
            const r = await postGithub(d, { secret: SECRET, event: 'push',
                body: PUSH });
            assert.equal(r.status, 202, r.text);
        }));
});

describe('secret rotation', () => {
    let d;
    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: 'int-old-secret-a1,int-new-secret-b2',
        } });
    });
    after(() => stopAndCheck(d));

    test('second secret accepted and counted as index 1', () =>
        withStderr(d, async () => {
            const r = await postGithub(d, { secret: 'int-new-secret-b2',
                event: 'push', body: PUSH });
            assert.equal(r.status, 202, r.text);
            let s = parseMetrics((await request(`${d.url}/metrics`)).text);
            assert.equal(metricValue(s, 'paved_webhook_secret_matches_total',
                { forge: 'github', index: '1' }), 1);
            assert.equal(metricValue(s, 'paved_webhook_secret_matches_total',
                { forge: 'github', index: '0' }) ?? 0, 0);
            const o = await postGithub(d, { secret: 'int-old-secret-a1',
                event: 'push', body: PUSH });
            assert.equal(o.status, 202, o.text);
            s = parseMetrics((await request(`${d.url}/metrics`)).text);
            assert.equal(metricValue(s, 'paved_webhook_secret_matches_total',
                { forge: 'github', index: '0' }), 1);
            assert.equal(metricValue(s, 'paved_webhook_secret_matches_total',
                { forge: 'github', index: '1' }), 1);
            const bad = await postGithub(d, { secret: 'int-old-secret-a1,int-new-secret-b2',
                event: 'push', body: PUSH });
            assert.equal(bad.status, 401, 'the whole list is not a secret');
            assert.equal(deliveryCount(d.dbPath), 2);
        }));
});

describe('legacy SHA-1 signatures', () => {
    let d;
    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET,
            PAVED_GITHUB_ALLOW_SHA1: 'true',
        } });
    });
    after(() => stopAndCheck(d));

    test('with PAVED_GITHUB_ALLOW_SHA1=true a SHA-1-only delivery -> 202', () =>
        withStderr(d, async () => {
            const r = await postGithub(d, { event: 'push', body: PUSH,
                sigHeader: null, extra: { 'X-Hub-Signature':
                    `sha1=${hmacHex('sha1', SECRET, PUSH)}` } });
            assert.equal(r.status, 202, `${r.status} ${r.text}`);
            const wrong = await postGithub(d, { event: 'push', body: PUSH,
                sigHeader: null, extra: { 'X-Hub-Signature':
                    `sha1=${hmacHex('sha1', 'nope', PUSH)}` } });
            assert.equal(wrong.status, 401, wrong.text);
            assert.equal(deliveryCount(d.dbPath), 1);
        }));

    test('a wrong SHA-256 is not rescued by a right SHA-1', () =>
        withStderr(d, async () => {
            const r = await postGithub(d, { event: 'push', body: PUSH,
                sigHeader: `sha256=${hmacHex('sha256', 'nope', PUSH)}`,
                extra: { 'X-Hub-Signature':
                    `sha1=${hmacHex('sha1', SECRET, PUSH)}` } });
            assert.equal(r.status, 401, `${r.status} ${r.text}`);
        }));
});

describe('full store -> 503, acknowledged deliveries kept', () => {
    let d;
    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET,
            PAVED_STORE_MAX_SIZE: '128KiB',
        } });
    });
    after(() => stopAndCheck(d));

    test('post until 503', () => withStderr(d, async () => {
        const acked = [];
        let refused = null;
        for (let i = 0; i < 200 && refused === null; i++) {
            const r = await postGithub(d, { secret: SECRET, event: 'push',
                body: pushOfSize(12 * 1024) });
            if (r.status === 202)
                acked.push(r.delivery);
            else if (r.status === 503)
                refused = r;
            else
                assert.fail(`unexpected ${r.status} ${r.text}`);
        }
        assert.ok(refused, `no 503 after ${acked.length} deliveries of 12 KiB ` +
            'with PAVED_STORE_MAX_SIZE=96KiB');
        assertErrorBody(refused, '503');
        assert.ok(acked.length >= 1, 'first delivery already refused: the ' +
            'cap leaves no room for any delivery');
        const rows = sql(d.dbPath, "SELECT delivery_id FROM deliveries " +
            "WHERE forge='github'").map((x) => x.delivery_id);
        const stored = new Set(rows);
        for (const id of acked)
            assert.ok(stored.has(id), `acknowledged ${id} missing from the store`);
        assert.equal(stored.has(refused.delivery), false,
            '503 delivery was stored');
        assert.equal(rows.length, acked.length);
        const m = parseMetrics((await request(`${d.url}/metrics`)).text);
        assert.equal(metricValue(m, 'paved_webhook_deliveries_total',
            { forge: 'github', outcome: 'unavailable' }), 1);
        // liveness is not readiness: the process is alive, the store is not
        const h = await request(`${d.url}/healthz`);
        assert.equal(h.status, 200);
    }));

    test('readyz says 503 while the store cannot commit', () =>
        withStderr(d, async () => {
            const r = await postGithub(d, { secret: SECRET, event: 'push',
                body: pushOfSize(12 * 1024) });
            assert.equal(r.status, 503, 'store no longer full?');
            const ready = await request(`${d.url}/readyz`);
            assert.equal(ready.status, 503, `readyz with a full store: ` +
                `${ready.status} ${ready.text}`);
        }));
});
