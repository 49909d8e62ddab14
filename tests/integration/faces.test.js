// The daemon's read-only faces after a few deliveries: health and readiness,
// Prometheus metrics with plausible values, the deliveries API (newest
// first, by id and by #seq), the `paved deliveries` CLI in JSON and as a
// table, its usage errors, and the API bearer token.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { pavedBin, startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import {
    metricValue, parseMetrics, postGithub, request, uuid,
} from './lib/http.js';

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples');
const byName = (n) => index.find((e) => e.name === n).examples;
const PUSH = JSON.stringify(byName('push').find((p) =>
    p.ref === 'refs/heads/master'));
const PING = JSON.stringify(byName('ping')[0]);
const ISSUES = JSON.stringify(byName('issues')[0]);
const SECRET = 'int-faces-secret-3c3c';
const API_TOKEN = 'int-api-token-e5e5e5';

// Runs the CLI; resolves {code, stdout, stderr}. Never rejects on exit != 0.
function cli(args, env = {}) {
    return new Promise((resolve) => {
        const clean = {};
        for (const [k, v] of Object.entries(process.env)) {
            if (!k.startsWith('PAVED_'))
                clean[k] = v;
        }
        execFile(pavedBin(), args, { env: { ...clean, ...env },
            timeout: 15_000 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
            resolve({ code, stdout, stderr, signal: err?.signal });
        });
    });
}

async function closedPort() {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

describe('health, metrics, API and CLI', () => {
    let d;
    const sent = []; // in order: {id, event}

    before(async () => {
        d = await startDaemon({ env: { PAVED_GITHUB_SECRET: SECRET } });
        const plan = ['push', 'push', 'ping', 'push', 'issues', 'push', 'ping',
            'push'];
        for (const event of plan) {
            const body = event === 'push' ? PUSH
                : (event === 'ping' ? PING : ISSUES);
            const r = await postGithub(d, { secret: SECRET, event, body });
            const want = event === 'ping' ? 200 : 202;
            assert.equal(r.status, want, `${event}: ${r.status} ${r.text}`);
            sent.push({ id: r.delivery, event, status: r.json?.status });
        }
        assert.deepEqual(sent.map((s) => s.status), ['queued', 'queued', 'pong',
            'queued', 'ignored', 'queued', 'pong', 'queued']);
    });
    after(() => stopAndCheck(d));

    test('/healthz and /readyz', () => withStderr(d, async () => {
        const h = await request(`${d.url}/healthz`);
        assert.equal(h.status, 200);
        assert.equal(h.text.trim(), 'ok');
        const r = await request(`${d.url}/readyz`);
        assert.equal(r.status, 200, r.text);
    }));

    test('/metrics: every family, plausible values', () =>
        withStderr(d, async () => {
            const m = await request(`${d.url}/metrics`);
            assert.equal(m.status, 200);
            assert.match(m.headers['content-type'] ?? '', /^text\/plain/);
            const families = {
                paved_webhook_deliveries_total: 'counter',
                paved_webhook_secret_matches_total: 'counter',
                paved_http_request_duration_seconds: 'histogram',
                paved_http_requests_total: 'counter',
                paved_store_commit_duration_seconds: 'histogram',
                paved_store_queue_depth: 'gauge',
                paved_deliveries_stored: 'gauge',
            };
            for (const [f, type] of Object.entries(families)) {
                assert.match(m.text, new RegExp(`^# TYPE ${f} ${type}$`, 'm'),
                    `no "# TYPE ${f} ${type}"`);
            }
            const s = parseMetrics(m.text);
            const dv = (labels) => metricValue(s,
                'paved_webhook_deliveries_total', { forge: 'github', ...labels });
            assert.equal(dv({ event: 'push', outcome: 'queued' }), 5);
            assert.equal(dv({ event: 'ping', outcome: 'pong' }), 2);
            // the event label is the normalized kind (bounded cardinality)
            assert.equal(dv({ event: 'other', outcome: 'ignored' }), 1);
            assert.equal(dv({ outcome: 'unauthorized' }) ?? 0, 0);
            assert.equal(metricValue(s, 'paved_webhook_secret_matches_total',
                { forge: 'github', index: '0' }), 8);
            assert.equal(metricValue(s, 'paved_deliveries_stored'), 8);
            assert.equal(metricValue(s, 'paved_store_queue_depth'), 0);
            const c202 = s.filter((x) => x.name === 'paved_http_requests_total' &&
                x.labels.code === '202').reduce((a, x) => a + x.value, 0);
            assert.equal(c202, 6, 'paved_http_requests_total{code="202"}');
            const c200 = s.filter((x) => x.name === 'paved_http_requests_total' &&
                x.labels.code === '200').reduce((a, x) => a + x.value, 0);
            assert.ok(c200 >= 2, `code="200" ${c200}`);
            // histograms: cumulative buckets ending in +Inf == _count
            for (const h of ['paved_http_request_duration_seconds',
                'paved_store_commit_duration_seconds']) {
                const count = metricValue(s, `${h}_count`);
                assert.ok(count >= 1, `${h}_count ${count}`);
                const sum = metricValue(s, `${h}_sum`);
                assert.ok(sum >= 0 && sum < 60 * count, `${h}_sum ${sum}`);
                const series = new Map();
                for (const b of s.filter((x) => x.name === `${h}_bucket`)) {
                    const { le, ...rest } = b.labels;
                    const key = JSON.stringify(rest);
                    if (!series.has(key))
                        series.set(key, []);
                    series.get(key).push([le === '+Inf' ? Infinity : Number(le),
                        b.value]);
                }
                assert.ok(series.size >= 1, `${h}: no buckets`);
                let inf = 0;
                for (const [key, buckets] of series) {
                    buckets.sort((a, b) => a[0] - b[0]);
                    for (let i = 1; i < buckets.length; i++) {
                        assert.ok(buckets[i][1] >= buckets[i - 1][1],
                            `${h}${key}: buckets not cumulative`);
                    }
                    assert.equal(buckets.at(-1)[0], Infinity, `${h}: no +Inf`);
                    inf += buckets.at(-1)[1];
                }
                assert.equal(inf, count, `${h}: +Inf buckets != _count`);
            }
            // 8 deliveries, each commit durable: at least one commit, at
            // most one per delivery plus the readiness probe(s)
            const commits = metricValue(s,
                'paved_store_commit_duration_seconds_count');
            assert.ok(commits >= 1 && commits <= 8 + 5, `commits ${commits}`);
            const route = s.filter((x) =>
                x.name === 'paved_http_request_duration_seconds_count')
                .map((x) => x.labels.route);
            assert.ok(route.every((r) => typeof r === 'string' && r.length > 0),
                'request duration without a route label');
            // "histogram-ish" in DAEMON.md: any type, but under this name
            assert.match(m.text, /^# TYPE paved_store_commit_batch_size /m);
            assert.ok(s.some((x) =>
                x.name.startsWith('paved_store_commit_batch_size')),
            'no paved_store_commit_batch_size samples');
        }));

    test('GET /api/v1/deliveries?limit=2: the two newest, newest first', () =>
        withStderr(d, async () => {
            const r = await request(`${d.url}/api/v1/deliveries?limit=2`);
            assert.equal(r.status, 200, r.text);
            const list = r.json.deliveries;
            assert.equal(list.length, 2);
            assert.deepEqual(list.map((x) => x.id),
                [sent[7].id, sent[6].id]);
            assert.ok(list[0].seq > list[1].seq);
            assert.equal(list[0].kind, 'push');
            assert.equal(list[1].status, 'ignored');
            const all = await request(`${d.url}/api/v1/deliveries`);
            assert.deepEqual(all.json.deliveries.map((x) => x.id),
                sent.map((x) => x.id).reverse());
            // list entries carry no payload (only the detail does)
            assert.equal(all.json.deliveries[0].payload, undefined);
        }));

    test('GET /api/v1/deliveries/{id}, #seq, unknown', () =>
        withStderr(d, async () => {
            const byId = await request(`${d.url}/api/v1/deliveries/${sent[0].id}`);
            assert.equal(byId.status, 200);
            assert.deepEqual(byId.json.payload, JSON.parse(PUSH));
            const bySeq = await request(
                `${d.url}/api/v1/deliveries/%23${byId.json.seq}`);
            assert.equal(bySeq.status, 200, bySeq.text);
            assert.equal(bySeq.json.id, sent[0].id);
            const none = await request(`${d.url}/api/v1/deliveries/${uuid()}`);
            assert.equal(none.status, 404);
            assert.equal(typeof none.json?.error, 'string');
        }));

    test('paved deliveries --json prints the API ids', () =>
        withStderr(d, async () => {
            const r = await cli(['deliveries', '--json', '--url', d.url]);
            assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
            const doc = JSON.parse(r.stdout);
            assert.deepEqual(doc.deliveries.map((x) => x.id),
                sent.map((x) => x.id).reverse());
            const two = await cli(['deliveries', '--json', '--limit', '2',
                '--url', d.url]);
            assert.equal(two.code, 0, two.stderr);
            assert.deepEqual(JSON.parse(two.stdout).deliveries.map((x) => x.id),
                [sent[7].id, sent[6].id]);
            const env = await cli(['deliveries', '--json'],
                { PAVED_URL: d.url });
            assert.equal(env.code, 0, `PAVED_URL: ${env.stderr}`);
            assert.equal(JSON.parse(env.stdout).deliveries.length, 8);
        }));

    test('paved deliveries prints a human table', () =>
        withStderr(d, async () => {
            const r = await cli(['deliveries', '--url', d.url]);
            assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
            assert.doesNotMatch(r.stdout.trimStart(), /^[{[]/, 'table is JSON');
            const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
            assert.ok(lines.length >= 8, `${lines.length} lines:\n${r.stdout}`);
            for (const s of sent) {
                assert.ok(r.stdout.includes(s.id.slice(0, 8)),
                    `table lacks ${s.id}:\n${r.stdout}`);
            }
            assert.match(r.stdout, /push/);
            assert.match(r.stdout, /ping/);
        }));

    test('paved deliveries: usage error 2, unreachable daemon 1', async () => {
        const bogus = await cli(['deliveries', '--bogus']);
        assert.equal(bogus.code, 2, `--bogus exit ${bogus.code}`);
        assert.ok(bogus.stderr.length > 0, 'usage error says nothing');
        const lim = await cli(['deliveries', '--limit', 'many', '--url', d.url]);
        assert.equal(lim.code, 2, `--limit many exit ${lim.code}`);
        const port = await closedPort();
        const down = await cli(['deliveries', '--url',
            `http://127.0.0.1:${port}`]);
        assert.equal(down.code, 1, `unreachable exit ${down.code}`);
    });
});

describe('PAVED_API_TOKEN', () => {
    let d;
    before(async () => {
        d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET,
            PAVED_API_TOKEN: API_TOKEN,
        } });
    });
    after(() => stopAndCheck(d));

    test('/api needs the bearer token; hooks and health do not', () =>
        withStderr(d, async () => {
            const p = await postGithub(d, { secret: SECRET, event: 'push',
                body: PUSH });
            assert.equal(p.status, 202, 'webhooks must not need the API token');
            const url = `${d.url}/api/v1/deliveries`;
            const none = await request(url);
            assert.equal(none.status, 401, none.text);
            const wrong = await request(url, {
                headers: { Authorization: `Bearer ${API_TOKEN}x` } });
            assert.equal(wrong.status, 401);
            const basic = await request(url, {
                headers: { Authorization: `Basic ${API_TOKEN}` } });
            assert.equal(basic.status, 401);
            const ok = await request(url, {
                headers: { Authorization: `Bearer ${API_TOKEN}` } });
            assert.equal(ok.status, 200, ok.text);
            assert.deepEqual(ok.json.deliveries.map((x) => x.id), [p.delivery]);
            const one = await request(`${url}/${p.delivery}`);
            assert.equal(one.status, 401, 'detail without token');
            const h = await request(`${d.url}/healthz`);
            assert.equal(h.status, 200);
        }));
});
