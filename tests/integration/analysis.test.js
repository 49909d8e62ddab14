// [delivery] Issue 7: canary analysis against a REAL Prometheus
// (/usr/bin/prometheus, Debian's package) through `paved analyze`, the
// operator's face of the evaluator. Prometheus runs on a port chosen at run
// time with its own temporary storage and scrapes, every second, a small
// Node server of this file that exposes http_requests_total{service,
// version,code} and a latency histogram for a stable version and canaries.
// The test decides each version's traffic profile; the server adds that
// traffic at every scrape, so the rates are exact whatever the timing.
// Covered: a healthy canary continues; a canary with 10% 5xx aborts with the
// failing value; a canary slower than stable by more than the tolerance
// aborts on compare; too few samples is "no data" (abort, not a pass); a
// query Prometheus refuses is "error"; an unreachable Prometheus is
// "error"; a hostile version is refused (exit 2). Waiting is polling with a
// generous bound; no assertion is about time. Prometheus and the server are
// stopped on every exit path (after hook, process exit, signals).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { markFailed, pavedBin } from './lib/daemon.js';

const PROMETHEUS = process.env.PAVED_PROMETHEUS_BIN || '/usr/bin/prometheus';
const WAIT_BOUND_MS = 120_000; // only so that a broken setup cannot hang

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-analysis-'));
let server;
let metricsPort;
let prom; // the Prometheus child
let promPort;
let promLog = '';
let envDir;

// ---- the scraped service ------------------------------------------------

const BUCKETS = ['0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
// version -> {ok, err: requests added per scrape; bucket: index of the
// bucket every request falls in; totals}
const versions = new Map();

function serve(version, ok, err, bucket) {
    versions.set(version, { ok, err, bucket, n200: 0, n500: 0 });
}

function renderMetrics() {
    const lines = [
        '# HELP http_requests_total Requests served.',
        '# TYPE http_requests_total counter',
    ];
    const hist = [
        '# HELP http_request_duration_seconds Request latency.',
        '# TYPE http_request_duration_seconds histogram',
    ];
    for (const [v, s] of versions) {
        s.n200 += s.ok;
        s.n500 += s.err;
        const lbl = `service="shop",version="${v}"`;
        lines.push(`http_requests_total{${lbl},code="200"} ${s.n200}`);
        // a version that never failed has no 5xx series, as with most
        // client libraries
        if (s.n500 > 0)
            lines.push(`http_requests_total{${lbl},code="500"} ${s.n500}`);
        const total = s.n200 + s.n500;
        BUCKETS.forEach((le, i) => {
            hist.push(`http_request_duration_seconds_bucket{${lbl},le="${le}"} ` +
                `${i >= s.bucket ? total : 0}`);
        });
        hist.push(`http_request_duration_seconds_sum{${lbl}} ${total * 0.07}`);
        hist.push(`http_request_duration_seconds_count{${lbl}} ${total}`);
    }
    return lines.concat(hist).join('\n') + '\n';
}

// ---- Prometheus ---------------------------------------------------------

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
    });
}

function killProm() {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
        try {
            prom.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
}
process.on('exit', killProm);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        killProm();
        process.exit(128 + (os.constants.signals[sig] || 1));
    });
}

function httpGet(url) {
    return new Promise((resolve) => {
        const req = http.get(url, (res) => {
            let body = '';
            res.on('data', (c) => { body += c; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', (e) => resolve({ status: 0, body: String(e) }));
        req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    });
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function startPrometheus() {
    const dir = path.join(tmp, 'prometheus');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prometheus.yml'),
        'global:\n' +
        '  scrape_interval: 1s\n' +
        '  evaluation_interval: 1s\n' +
        'scrape_configs:\n' +
        '  - job_name: shop\n' +
        '    static_configs:\n' +
        `      - targets: ['127.0.0.1:${metricsPort}']\n`);
    // a port that was free a moment ago: retried if someone took it since
    for (let attempt = 0; attempt < 5; attempt++) {
        promPort = await freePort();
        promLog = '';
        prom = spawn(PROMETHEUS, [
            `--config.file=${path.join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${path.join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${promPort}`,
            '--log.level=warn',
        ], { stdio: ['ignore', 'ignore', 'pipe'] });
        prom.stderr.on('data', (b) => {
            if (promLog.length < 65536)
                promLog += b;
        });
        const exited = new Promise((r) => prom.once('exit', () => r(true)));
        const deadline = Date.now() + WAIT_BOUND_MS;
        while (Date.now() < deadline) {
            const gone = await Promise.race([exited, pause(200)]);
            if (gone === true)
                break;
            const r = await httpGet(`http://127.0.0.1:${promPort}/-/ready`);
            if (r.status === 200)
                return;
        }
        killProm();
    }
    throw new Error(`prometheus did not start:\n${promLog}`);
}

function stopPrometheus() {
    return new Promise((resolve) => {
        if (!prom || prom.exitCode !== null || prom.signalCode !== null) {
            resolve();
            return;
        }
        const t = setTimeout(() => killProm(), 10_000);
        prom.once('exit', () => {
            clearTimeout(t);
            resolve();
        });
        prom.kill('SIGTERM');
    });
}

// ---- paved --------------------------------------------------------------

const ENV_HEAD =
    'driver: local\n' +
    'local:\n' +
    '  listen: 127.0.0.1:18082\n' +
    '  upstream_port: 19110\n' +
    'canary:\n' +
    '  weights: [50, 100]\n' +
    '  interval: 5s\n';

function writeEnvs() {
    envDir = path.join(tmp, 'environments');
    fs.mkdirSync(envDir, { recursive: true });
    const sel = 'service="{{service}}",version="{{version}}"';
    fs.writeFileSync(path.join(envDir, 'shop-prod.yaml'),
        'name: shop-prod\n' + ENV_HEAD +
        'analysis:\n' +
        `  prometheus: http://127.0.0.1:${promPort}\n` +
        '  failures_to_abort: 1\n' +
        '  min_samples: 20\n' +
        '  timeout: 5s\n' +
        '  sample_query: >-\n' +
        `    sum(increase(http_requests_total{${sel}}[{{interval}}]))\n` +
        '  queries:\n' +
        '    - name: error-rate\n' +
        '      query: >-\n' +
        `        (sum(rate(http_requests_total{${sel},code=~"5.."}[{{interval}}]))\n` +
        '        or vector(0))\n' +
        `        / sum(rate(http_requests_total{${sel}}[{{interval}}]))\n` +
        '      max: 0.01\n' +
        '    - name: p99-latency\n' +
        '      query: >-\n' +
        '        histogram_quantile(0.99, sum by (le)\n' +
        `        (rate(http_request_duration_seconds_bucket{${sel}}[{{interval}}])))\n` +
        '      max: 0.5\n' +
        '      compare: stable\n' +
        '      tolerance: 20%\n');
    // in another directory: the loader wants unique listen ports per dir
    const bad = path.join(tmp, 'bad-env');
    fs.mkdirSync(bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'shop-bad.yaml'),
        'name: shop-bad\n' + ENV_HEAD +
        'analysis:\n' +
        `  prometheus: http://127.0.0.1:${promPort}\n` +
        '  queries:\n' +
        '    - name: broken\n' +
        `      query: sum(rate(http_requests_total{${sel}}[{{interval}}])\n` +
        '      max: 1\n');
}

// The server answers in this process: the binary must run asynchronously.
function analyze(args, dir = envDir) {
    return new Promise((resolve) => {
        execFile(pavedBin(), ['analyze', ...args, '--environments', dir],
            { timeout: 60_000 }, (err, stdout, stderr) => {
                const code = err ? (typeof err.code === 'number' ? err.code : -1)
                    : 0;
                resolve({ code, stdout, stderr });
            });
    });
}

// Polls `paved analyze --json` until ready(doc) holds; returns the last
// document. The bound only keeps a broken setup from hanging the suite.
async function analyzeUntil(args, ready) {
    const deadline = Date.now() + WAIT_BOUND_MS;
    let last;
    while (Date.now() < deadline) {
        last = await analyze([...args, '--json']);
        if (last.code === 0 || last.code === 1) {
            const doc = JSON.parse(last.stdout);
            if (ready(doc))
                return { ...last, doc };
        } else {
            assert.fail(`paved analyze exited ${last.code}: ${last.stderr}`);
        }
        await pause(500);
    }
    assert.fail(`never ready; last answer:\n${last && last.stdout}\n` +
        `${last && last.stderr}\nprometheus:\n${promLog}`);
}

const check = (doc, name) => doc.checks.find((c) => c.name === name);
const measured = (doc) => typeof doc.samples === 'number' &&
    doc.samples >= doc.min_samples;

before(async () => {
    server = http.createServer((req, res) => {
        if (req.url === '/metrics') {
            res.writeHead(200, {
                'Content-Type': 'text/plain; version=0.0.4',
            }).end(renderMetrics());
        } else {
            res.writeHead(404).end();
        }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    metricsPort = server.address().port;
    // the stable version serves from the start: 100 requests a scrape, all
    // under 100 ms (p99 0.0995 by histogram_quantile's interpolation)
    serve('1.0.0', 100, 0, 1);
    await startPrometheus();
    writeEnvs();
});

after(async () => {
    await stopPrometheus();
    await new Promise((r) => server.close(r));
    fs.rmSync(tmp, { recursive: true, force: true });
});

test('a healthy canary: continue, every check passes', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    serve('1.1.0', 50, 0, 1);
    const args = ['shop-prod', '--service', 'shop', '--version', '1.1.0',
        '--stable', '1.0.0', '--interval', '5s'];
    const r = await analyzeUntil(args, (d) => measured(d) &&
        d.checks.every((c) => c.result !== 'no data'));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.decision, 'continue');
    assert.equal(r.doc.failures, 0);
    const er = check(r.doc, 'error-rate');
    assert.equal(er.result, 'pass');
    assert.equal(er.value, 0);
    assert.match(er.query, /version="1\.1\.0",code=~"5\.\."\}\[5s\]/);
    const p99 = check(r.doc, 'p99-latency');
    assert.equal(p99.result, 'pass', p99.reason);
    assert.ok(Math.abs(p99.value - 0.0995) < 1e-6, String(p99.value));
    assert.ok(Math.abs(p99.stable - 0.0995) < 1e-6, String(p99.stable));
    assert.match(p99.stable_query, /version="1\.0\.0"/);
    assert.equal(p99.threshold, '<= 0.5, <= stable +20%');

    // the human face and the check run's Markdown say the same
    const h = await analyze(args);
    assert.equal(h.code, 0, h.stdout + h.stderr);
    assert.match(h.stdout, /^analysis of shop 1\.1\.0 in shop-prod: continue$/m);
    assert.match(h.stdout, /^ {2}error-rate: pass, value 0 \(<= 0\.01\)/m);
    const m = await analyze([...args, '--markdown']);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /^### Canary analysis: \*\*continue\*\*$/m);
    assert.match(m.stdout, /^\| p99-latency \| pass \| 0\.0995 \| 0\.0995 \| /m);
});

test('a canary with 10% 5xx: abort with the failing value', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    serve('1.2.0', 45, 5, 1);
    const args = ['shop-prod', '--service', 'shop', '--version', '1.2.0',
        '--stable', '1.0.0', '--interval', '5s'];
    const r = await analyzeUntil(args, (d) => measured(d) &&
        check(d, 'error-rate').result !== 'no data');
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.doc.decision, 'abort');
    const er = check(r.doc, 'error-rate');
    assert.equal(er.result, 'fail');
    assert.ok(Math.abs(er.value - 0.1) < 0.005, String(er.value));
    assert.match(er.reason, /^value 0\.1\d* is above max 0\.01$/);
    assert.match(r.doc.reason, /error-rate: fail at 0\.1/);
    // latency is as good as stable's
    assert.equal(check(r.doc, 'p99-latency').result, 'pass');

    const h = await analyze(args);
    assert.equal(h.code, 1);
    assert.match(h.stdout, /^ {2}error-rate: fail, value 0\.1\d* \(<= 0\.01\): /m);
    assert.match(h.stdout, /^abort: 1 of 2 checks did not pass/m);
});

test('slower than stable beyond the tolerance: abort on compare',
    async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        // every request between 250 and 500 ms: under max 0.5, but far above
        // stable's 0.0995 + 20%
        serve('1.4.0', 50, 0, 3);
        const args = ['shop-prod', '--service', 'shop', '--version', '1.4.0',
            '--stable', '1.0.0', '--interval', '5s'];
        const r = await analyzeUntil(args, (d) => measured(d) &&
            check(d, 'p99-latency').result !== 'no data');
        assert.equal(r.code, 1, r.stdout);
        const p99 = check(r.doc, 'p99-latency');
        assert.equal(p99.result, 'fail');
        assert.ok(Math.abs(p99.value - 0.4975) < 1e-6, String(p99.value));
        assert.match(p99.reason, /more than 20% above the stable version's 0\.0995/);
        assert.equal(check(r.doc, 'error-rate').result, 'pass');
    });

test('fewer samples than min_samples: no data, which aborts', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    serve('1.3.0', 1, 0, 1); // one request a second: ~5 in 5 s, min is 20
    const args = ['shop-prod', '--service', 'shop', '--version', '1.3.0',
        '--stable', '1.0.0', '--interval', '5s'];
    // wait until Prometheus has counted some: "too few", not "nothing yet"
    const r = await analyzeUntil(args, (d) => typeof d.samples === 'number' &&
        d.samples > 0);
    assert.ok(r.doc.samples < 20, String(r.doc.samples));
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.doc.decision, 'abort');
    for (const c of r.doc.checks) {
        assert.equal(c.result, 'no data', JSON.stringify(c));
        assert.match(c.reason, /samples, fewer than min_samples 20$/);
    }
    // the value was measured all the same and is shown
    assert.equal(check(r.doc, 'error-rate').value, 0);
    assert.match(r.doc.reason, /error-rate: no data, p99-latency: no data/);
});

test('Prometheus refuses a query, or cannot be reached: error, abort',
    async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const bad = await analyze(['shop-bad', '--service', 'shop',
            '--version', '1.1.0', '--json'], path.join(tmp, 'bad-env'));
        assert.equal(bad.code, 1, bad.stdout + bad.stderr);
        const doc = JSON.parse(bad.stdout);
        assert.equal(check(doc, 'broken').result, 'error');
        assert.match(check(doc, 'broken').reason, /^query failed: bad_data: /);

        const closed = await freePort();
        const down = await analyze(['shop-prod', '--service', 'shop',
            '--version', '1.1.0', '--stable', '1.0.0', '--json',
            '--prometheus', `http://127.0.0.1:${closed}`]);
        assert.equal(down.code, 1, down.stdout + down.stderr);
        const d2 = JSON.parse(down.stdout);
        assert.equal(d2.decision, 'abort');
        assert.equal(d2.samples, null);
        for (const c of d2.checks)
            assert.equal(c.result, 'error');
    });

test('hostile values and bad usage: exit 2, nothing sent', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    for (const v of ['1.0"} or vector(1) #', 'a\\b', 'x\ny']) {
        const r = await analyze(['shop-prod', '--service', 'shop',
            '--version', v]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /cannot go into a PromQL label/);
        assert.equal(r.stdout, '');
    }
    const s = await analyze(['shop-prod', '--service', 'shop', '--version',
        '1.1.0', '--stable', "it's"]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /stable version holds a character/);
    assert.equal((await analyze(['shop-prod', '--version', '1'])).code, 2);
    assert.equal((await analyze(['nope', '--service', 'shop', '--version',
        '1'])).code, 2);
    assert.equal((await analyze(['shop-prod', '--service', 'shop',
        '--version', '1', '--interval', 'soon'])).code, 2);
});
