// "Never lose an acknowledged delivery": 32 concurrent keep-alive clients
// post signed, unique deliveries while the daemon is SIGKILLed in the middle
// of it, three times over on the same data dir, then once with SIGTERM (a
// graceful stop must exit 0). Every delivery that was answered 202 must be
// in the store after the restart, exactly once.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { startDaemon, stopAndCheck, withStderr } from './lib/daemon.js';
import {
    githubSignature, metricValue, parseMetrics, postGithub, request, sleep,
    sql, uuid,
} from './lib/http.js';

const require = createRequire(import.meta.url);
const index = require('@octokit/webhooks-examples');
const PUSH = JSON.stringify(index.find((e) => e.name === 'push').examples
    .find((p) => p.ref === 'refs/heads/master'));
const SECRET = 'int-crash-secret-5e6f';
const CONCURRENCY = 32;
const ROUNDS = 3;

let d;
before(async () => {
    d = await startDaemon({ env: { PAVED_GITHUB_SECRET: SECRET } });
});
after(() => stopAndCheck(d));

function post(agent, url, sig, id) {
    return new Promise((resolve) => {
        const body = Buffer.from(PUSH);
        const req = http.request(`${url}/hooks/github`, {
            method: 'POST', agent,
            headers: {
                'Content-Type': 'application/json',
                'Content-Length': body.length,
                'X-GitHub-Event': 'push',
                'X-GitHub-Delivery': id,
                'X-Hub-Signature-256': sig,
            },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode,
                text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', (e) => resolve({ error: e }));
        });
        req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ error: e }));
        req.end(body);
    });
}

// One round: load, then SIGKILL (how='kill9') or SIGTERM (how='term') while
// loaded; returns what the clients were told.
async function round(n, how = 'kill9') {
    const sig = await githubSignature(SECRET, PUSH);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const url = d.url;
    const acked = [];
    const dup = [];
    const unexpected = [];
    let unavailable = 0;
    let errors = 0;
    let inflight = 0;
    let stop = false;

    const worker = async () => {
        while (!stop) {
            const id = `crash-${n}-${uuid()}`;
            inflight += 1;
            const r = await post(agent, url, sig, id);
            inflight -= 1;
            if (r.error)
                errors += 1;
            else if (r.status === 202)
                acked.push(id);
            else if (r.status === 200 && /"duplicate"/.test(r.text))
                dup.push(id);
            else if (r.status === 503 && how === 'term')
                unavailable += 1; // draining: refused, the forge retries
            else
                unexpected.push(`${r.status} ${r.text}`);
            if (r.error && stop)
                break;
            if (r.error)
                await sleep(5); // refused before the kill? do not spin
        }
    };
    const t0 = Date.now();
    const workers = Array.from({ length: CONCURRENCY }, worker);

    // under load first, then kill at a point that varies per round
    while (acked.length < 50 && Date.now() - t0 < 10_000)
        await sleep(10);
    assert.ok(acked.length >= 50, `only ${acked.length} deliveries acked in ` +
        `10 s; errors=${errors} unexpected=${unexpected.slice(0, 3)}`);
    await sleep(300 + 400 * n);
    const inflightAtKill = inflight;
    const ackedBeforeKill = acked.length;
    const ended = how === 'term' ? await d.stop() : await d.kill9();
    stop = true;
    await Promise.all(workers);
    agent.destroy();
    if (how === 'term') {
        assert.equal(ended.timedOut, false, 'SIGTERM under load: no exit in 10 s');
        assert.equal(ended.code, 0, `SIGTERM under load: ${JSON.stringify(ended)}`);
    } else {
        assert.equal(ended.signal, 'SIGKILL', 'daemon was not killed by SIGKILL');
    }
    assert.deepEqual(unexpected, [], 'answers other than 202/duplicate');
    return { acked, dup, errors, unavailable, inflightAtKill, ackedBeforeKill,
        ms: Date.now() - t0 };
}

const allAcked = new Set();

// After a restart: every id ever acknowledged is stored exactly once.
async function verifyStore(t, n, r) {
    for (const id of r.acked)
        allAcked.add(id);
    const dups = sql(d.dbPath, 'SELECT forge, delivery_id, count(*) ' +
        'AS n FROM deliveries GROUP BY forge, delivery_id ' +
        'HAVING count(*) > 1');
    assert.deepEqual(dups, [], `round ${n}: duplicated rows`);
    const stored = new Set(sql(d.dbPath, "SELECT delivery_id FROM " +
        "deliveries WHERE forge='github'").map((x) => x.delivery_id));
    const lost = [...allAcked].filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `round ${n}: ${lost.length} of ` +
        `${allAcked.size} acknowledged deliveries lost ` +
        `(in flight at the signal: ${r.inflightAtKill})`);
    // stored may also hold deliveries committed but never answered
    assert.ok(stored.size <= allAcked.size + ((n + 1) * CONCURRENCY) + 1,
        `round ${n}: ${stored.size} stored, more than acked + in flight`);

    // the restarted daemon knows them: a redelivery is a duplicate
    for (const id of r.acked.slice(-3)) {
        const again = await postGithub(d, { secret: SECRET,
            event: 'push', body: PUSH, delivery: id });
        assert.equal(again.status, 200, `redelivery of ${id}: ` +
            `${again.status} ${again.text}`);
        assert.equal(again.json?.status, 'duplicate');
        const g = await request(`${d.url}/api/v1/deliveries/${id}`);
        assert.equal(g.status, 200, `GET ${id} after restart`);
        assert.equal(g.json.id, id);
    }
    const m = parseMetrics((await request(`${d.url}/metrics`)).text);
    assert.equal(metricValue(m, 'paved_deliveries_stored'), stored.size,
        'paved_deliveries_stored after restart');
    t.diagnostic(`round ${n}: ${r.acked.length} acked ` +
        `(${r.ackedBeforeKill} before the signal), ${r.inflightAtKill} in ` +
        `flight, ${r.errors} errors, ${r.unavailable} 503, ` +
        `${stored.size} stored in total`);
}

test(`SIGKILL under load x${ROUNDS}: every 202 stored exactly once`,
    { timeout: 120_000 }, (t) => withStderr(d, async () => {
        for (let n = 0; n < ROUNDS; n++) {
            const r = await round(n, 'kill9');
            assert.ok(r.inflightAtKill > 0, `round ${n}: nothing in flight ` +
                'when the daemon was killed');
            await d.restart();
            await verifyStore(t, n, r);
        }
    }));

test('SIGTERM under load: exit 0, every 202 stored', { timeout: 60_000 },
    (t) => withStderr(d, async () => {
        const r = await round(ROUNDS, 'term');
        await d.restart();
        await verifyStore(t, ROUNDS, r);
    }));
