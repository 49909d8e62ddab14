// [delivery] Issue 7 end to end, with real parts on 127.0.0.1: the paved
// daemon, git repositories, nginx (the local driver starts it from
// Debian's package), Prometheus (scripts/prometheus-local, Debian's
// package) scraping the versions, and a small Python service
// (tests/fixtures/delivery/app/server.py) that misbehaves on purpose when
// its commit says so. Every port is chosen at run time.
//
// Covered, each through webhooks and the real pipeline steps:
//   - a push to main builds the artifact and deploys it to staging (smoke
//     checks, promote); a tag takes exactly that artifact to production;
//   - a healthy canary walks every weight and ends at 100% (requests sent
//     through nginx reach the new version, the old one is stopped);
//   - a canary whose 5xx rate crosses the threshold is rolled back by
//     itself, and afterwards every request reaches the stable version;
//   - a failing smoke test rolls staging back;
//   - a tag on a commit that never passed staging is refused;
//   - an operator's paved rollback (to the version before) and paved
//     promote --version (forward again);
//   - a protected environment waits for `paved approve`;
//   - kill -9 of paved in the middle of a canary, then a restart: the
//     rollout is rolled back and started again by the requeued run, and
//     nginx never routes to a version that is not running;
//   - a canary whose run is cancelled is rolled back, not left behind.
// No timed assertions: every wait is for a state, with a generous limit.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { markFailed, pavedBin } from './lib/daemon.js';
import { freePort } from './lib/git.js';
import { request, sleep } from './lib/http.js';
import {
    cli, getRun, pushPayload, deliver, repoRoot, scenario, stepOf,
    waitFor, waitRuns, waitDone,
} from './lib/runs.js';

const T = { timeout: 600_000 };
const APP = path.join(repoRoot, 'tests', 'fixtures', 'delivery', 'app',
    'server.py');
const PROMETHEUS = path.join(repoRoot, 'scripts', 'prometheus-local');

function have(cmd) {
    return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
        .status === 0 || fs.existsSync(`/usr/sbin/${cmd}`);
}
const missing = !have('nginx') ? 'nginx is not installed (scripts/deps.sh '
    + 'test installs nginx-light)'
    : !have('prometheus') ? 'prometheus is not installed (scripts/deps.sh '
        + 'test installs it)'
        : !have('python3') ? 'python3 is not installed' : null;
const skip = missing ? { skip: missing } : {};

// n consecutive ports that nothing listens on now
async function freeRange(n) {
    for (let tries = 0; tries < 200; tries++) {
        const base = 20000 + Math.floor(Math.random() * 30000);
        let ok = true;
        for (let p = base; p < base + n && ok; p++)
            ok = await new Promise((resolve) => {
                const s = net.createServer();
                s.once('error', () => resolve(false));
                s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
            });
        if (ok)
            return base;
    }
    throw new Error('no free port range');
}

function environments(dir, o) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'staging.yaml'), `name: staging
driver: local
local:
  listen: 127.0.0.1:${o.stagingListen}
  upstream_port: ${o.stagingBase}
approval: none
smoke:
  - name: health
    url: http://127.0.0.1:${o.stagingListen}/healthz
    timeout: 5s
    retries: 3
`);
    fs.writeFileSync(path.join(dir, 'production.yaml'), `name: production
driver: local
local:
  listen: 127.0.0.1:${o.prodListen}
  upstream_port: ${o.prodBase}
from: staging
approval: ${o.approval ?? 'none'}
canary:
  weights: [20, 50, 100]
  interval: ${o.interval ?? '4s'}
analysis:
  prometheus: http://127.0.0.1:${o.promPort}
  failures_to_abort: 1
  min_samples: 3
  timeout: 5s
  sample_query: >-
    sum(increase(http_requests_total{service="{{service}}",version="{{version}}",env="production"}[{{interval}}]))
  queries:
    - name: error-rate
      query: >-
        sum(rate(http_requests_total{service="{{service}}",version="{{version}}",env="production",code=~"5.."}[{{interval}}]))
        / sum(rate(http_requests_total{service="{{service}}",version="{{version}}",env="production"}[{{interval}}]))
      max: 0.05
smoke:
  - name: health
    url: http://127.0.0.1:${o.prodListen}/healthz
    retries: 3
`);
}

const PIPELINE = `name: deliver
on:
  push:
    branches: [main, "feature/*"]
  tag:
    patterns: ["v*"]
steps:
  - name: artifact
    if: event == 'push'
    uses: build-image
    with:
      format: directory
      start: exec python3 server.py
  - name: deploy-staging
    needs: [artifact]
    if: event == 'push' && branch == 'main'
    uses: deploy
    with:
      environment: staging
  - name: smoke-staging
    needs: [deploy-staging]
    if: event == 'push' && branch == 'main'
    uses: smoke
    with:
      environment: staging
  - name: promote-staging
    needs: [smoke-staging]
    if: event == 'push' && branch == 'main'
    uses: promote
    with:
      environment: staging
  - name: canary
    if: event == 'tag'
    uses: canary
    with:
      environment: production
    timeout: 10m
  - name: smoke-production
    needs: [canary]
    if: event == 'tag'
    uses: smoke
    with:
      environment: production
  - name: promote-production
    needs: [smoke-production]
    if: event == 'tag'
    uses: promote
    with:
      environment: production
`;

// Every process the local driver started (versions, nginx), by the pids
// its state files and nginx's pid file hold: stopped at the end of a test.
function stopEnvironments(dataDir) {
    const root = path.join(dataDir, 'environments');
    if (!fs.existsSync(root))
        return;
    const kill = (pid, group) => {
        if (!Number.isInteger(pid) || pid <= 1)
            return;
        try {
            process.kill(group ? -pid : pid, 'SIGKILL');
        } catch {
            // gone
        }
    };
    for (const env of fs.readdirSync(root)) {
        const dir = path.join(root, env);
        if (!fs.statSync(dir).isDirectory())
            continue;
        for (const f of fs.readdirSync(dir)) {
            if (!f.endsWith('.json') || f === 'targets.json')
                continue;
            try {
                const st = JSON.parse(fs.readFileSync(path.join(dir, f),
                    'utf8'));
                for (const v of [st.stable, st.candidate])
                    if (v && v.pid)
                        kill(v.pid, true);
            } catch {
                // not a state file
            }
        }
        const walk = (d) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory())
                    walk(p);
                else if (e.name.endsWith('.pid'))
                    kill(Number(fs.readFileSync(p, 'utf8').trim()), false);
            }
        };
        walk(dir);
    }
}

// Which version answered through nginx: "v1.0.0" (also for the 500 of a
// faulty version: it answered), or "error:<status>" when none did.
async function hit(port) {
    try {
        const r = await request(`http://127.0.0.1:${port}/`);
        const m = /version=(\S+) (ok|failed)/.exec(r.text ?? '');
        if (m)
            return m[1];
        return `error:${r.status}`;
    } catch (e) {
        return `error:${e.code ?? e.message}`;
    }
}

async function tally(port, n) {
    const seen = {};
    for (let i = 0; i < n; i++) {
        const v = await hit(port);
        seen[v] = (seen[v] ?? 0) + 1;
    }
    return seen;
}

// Requests through nginx in the background, as users would send them,
// so that the canary has traffic to be judged on.
function load(port, { gapMs = 15 } = {}) {
    const seen = {};
    const errors = [];
    let stop = false;
    const done = (async () => {
        while (!stop) {
            const v = await hit(port);
            seen[v] = (seen[v] ?? 0) + 1;
            if (v.startsWith('error:'))
                errors.push(v);
            await sleep(gapMs);
        }
    })();
    return {
        seen,
        errors,
        async stop() {
            stop = true;
            await done;
        },
    };
}

function pavedCli(w, args) {
    const r = spawnSync(pavedBin(), args, {
        encoding: 'utf8', timeout: 120_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/',
            USER: 'int-operator', PAVED_DATA_DIR: w.d.dataDir,
            PAVED_ENVIRONMENTS_DIR: w.envDir },
    });
    return r;
}

async function history(w, service, env) {
    const q = new URLSearchParams({ service, limit: '200' });
    if (env)
        q.set('env', env);
    const r = await request(`${w.d.url}/api/v1/deployments?${q}`);
    assert.equal(r.status, 200, `GET /api/v1/deployments: ${r.status} `
        + `${r.text}`);
    return r.json.deployments;
}

// One world: a daemon with the delivery pipeline and two local
// environments, Prometheus scraping them, and the service's repository.
async function world(t, opts, fn) {
    await scenario(t, async (ctx) => {
        const o = {
            stagingListen: await freePort(),
            prodListen: await freePort(),
            stagingBase: await freeRange(10),
            prodBase: await freeRange(10),
            promPort: await freePort(),
            ...opts,
        };
        const envDir = path.join(ctx.tmp, 'environments');
        environments(envDir, o);
        ctx.pipeline('deliver.yaml', PIPELINE);
        const d = await ctx.start({ PAVED_ENVIRONMENTS_DIR: envDir });
        const prom = spawn('bash', [PROMETHEUS, d.dataDir,
            `127.0.0.1:${o.promPort}`], { stdio: ['ignore', 'ignore',
            fs.openSync(path.join(ctx.tmp, 'prometheus.log'), 'a')],
        detached: true });
        const w = { ctx, d, envDir, o, repo: ctx.repo('shop/checkout') };
        try {
            await waitFor('prometheus ready', async () => {
                try {
                    return (await request(`http://127.0.0.1:${o.promPort}`
                        + '/-/ready')).status === 200;
                } catch {
                    return false;
                }
            }, { timeoutMs: 60_000 });
            await fn(w);
        } catch (e) {
            markFailed();
            throw e;
        } finally {
            try {
                process.kill(-prom.pid, 'SIGKILL');
            } catch {
                // gone
            }
            await d.stop();
            stopEnvironments(d.dataDir);
        }
    });
}

// Pushes the work clone's HEAD to ref; waits for the run; returns it.
async function pushRef(w, ref, sha = w.repo.head()) {
    const { before, after } = w.repo.push(ref, sha);
    await deliver(w.d, 'push', pushPayload({ repo: w.repo.fullName, ref,
        before, after, cloneUrl: w.repo.fileUrl }));
    const runs = await waitRuns(w.d, { sha: after }, 1,
        (r) => r.ref === ref);
    return waitDone(w.d, runs[0].id);
}

async function brief(w, run) {
    const r = await getRun(w.d, run.id);
    const log = (await request(`${w.d.url}/api/v1/runs/${run.id}/log`)).text;
    return `run ${r.id} ${r.state} ${r.reason ?? ''}: `
        + r.steps.map((s) => `${s.name}=${s.state}`).join(' ')
        + `\n--- log ---\n${log.split('\n').slice(-60).join('\n')}`;
}

async function expectRun(w, run, state) {
    if (run.state !== state)
        assert.fail(`want ${state}: ${await brief(w, run)}`);
    return getRun(w.d, run.id);
}

const app = (extra = {}) => ({ 'server.py': fs.readFileSync(APP, 'utf8'),
    ...extra });

test('delivery: staging on push, canary to production on a tag, '
    + 'automatic rollbacks, refused tags', { ...T, ...skip }, async (t) => {
    await world(t, {}, async (w) => {
        const { o } = w;
        // 1. the first version: staging, then production (100% at once:
        // there is no stable version to compare a canary with)
        const sha1 = w.repo.commit(app(), 'service v1');
        let run = await expectRun(w, await pushRef(w, 'refs/heads/main'),
            'success');
        assert.deepEqual(await tally(o.stagingListen, 5),
            { [`sha-${sha1.slice(0, 7)}`]: 5 });
        run = await expectRun(w, await pushRef(w, 'refs/tags/v1.0.0', sha1),
            'success');
        assert.deepEqual(await tally(o.prodListen, 5), { 'v1.0.0': 5 });
        // production runs exactly the artifact staging ran
        let h = await history(w, 'checkout');
        const staged = h.find((x) => x.environment === 'staging'
            && x.action === 'promote');
        const released = h.find((x) => x.environment === 'production'
            && x.action === 'promote');
        assert.ok(staged && released, JSON.stringify(h, null, 1));
        assert.equal(released.digest, staged.digest);
        assert.equal(released.artifact, staged.artifact);
        assert.equal(released.sha, sha1);

        // 2. a healthy canary walks 20, 50, 100 and is promoted
        const sha2 = w.repo.commit({ 'NOTES': 'v1.1\n' }, 'service v1.1');
        await expectRun(w, await pushRef(w, 'refs/heads/main'), 'success');
        let traffic = load(o.prodListen);
        run = await pushRef(w, 'refs/tags/v1.1.0', sha2);
        await traffic.stop();
        run = await expectRun(w, run, 'success');
        assert.deepEqual(traffic.errors, [], 'nginx answered every request '
            + 'during the canary');
        assert.ok(traffic.seen['v1.0.0'] > 0 && traffic.seen['v1.1.0'] > 0,
            `both versions served during the canary: `
            + JSON.stringify(traffic.seen));
        assert.deepEqual(await tally(o.prodListen, 20), { 'v1.1.0': 20 });
        h = await history(w, 'checkout', 'production');
        const steps = h.filter((x) => x.run_id === run.id
            && x.action === 'canary').map((x) => x.result);
        assert.deepEqual(steps, ['ok', 'ok', 'ok'], JSON.stringify(h));
        const verdict = h.find((x) => x.run_id === run.id
            && x.action === 'canary').detail;
        assert.equal(verdict.decision, 'continue', JSON.stringify(verdict));
        // the verdict is what the check run shows: the step's summary
        const summary = fs.readdirSync(path.join(w.d.dataDir, 'runs',
            String(run.id))).filter((f) => f.endsWith('.summary'));
        const text = summary.map((f) => fs.readFileSync(path.join(
            w.d.dataDir, 'runs', String(run.id), f), 'utf8')).join('\n');
        assert.match(text, /Canary at 20%/);
        assert.match(text, /error-rate/);

        // 3. a canary with 5xx over the threshold rolls back by itself
        const sha3 = w.repo.commit({ fault: '0.6\n' }, 'a bad change');
        await expectRun(w, await pushRef(w, 'refs/heads/main'), 'success');
        traffic = load(o.prodListen);
        run = await pushRef(w, 'refs/tags/v2.0.0', sha3);
        await traffic.stop();
        run = await expectRun(w, run, 'failure');
        assert.equal(stepOf(run, 'canary').state, 'failure');
        assert.equal(stepOf(run, 'promote-production').state, 'skipped');
        assert.deepEqual(await tally(o.prodListen, 30), { 'v1.1.0': 30 },
            'after the rollback every request reaches the stable version');
        h = await history(w, 'checkout', 'production');
        const rb = h.find((x) => x.run_id === run.id
            && x.action === 'rollback');
        assert.ok(rb, JSON.stringify(h));
        assert.match(rb.reason, /error-rate [0-9.]+/);
        assert.equal(rb.version, 'v2.0.0');

        // an operator: back to the version before, then forward again
        let r = pavedCli(w, ['rollback', 'checkout', '--env=production',
            '--reason=int test']);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(await tally(o.prodListen, 10), { 'v1.0.0': 10 });
        r = pavedCli(w, ['promote', 'checkout', '--env', 'production',
            '--version', 'v1.1.0']);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(await tally(o.prodListen, 10), { 'v1.1.0': 10 });
        r = pavedCli(w, ['promote', 'checkout', '--env=production']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /nothing to promote/);
        r = pavedCli(w, ['promote', 'checkout', '--env=production',
            '--version=v9.9.9']);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no version v9\.9\.9 of checkout/);
        h = await history(w, 'checkout', 'production');
        assert.equal(h[0].action, 'promote');
        assert.equal(h[0].actor, 'int-operator (cli)');

        // 4. a failing smoke test rolls staging back
        const before = `sha-${sha3.slice(0, 7)}`;
        w.repo.commit({ fault: null, unhealthy: 'yes\n' }, 'broken health');
        run = await expectRun(w, await pushRef(w, 'refs/heads/main'),
            'failure');
        assert.equal(stepOf(run, 'smoke-staging').state, 'failure');
        assert.deepEqual(await tally(o.stagingListen, 10), { [before]: 10 });
        h = await history(w, 'checkout', 'staging');
        assert.ok(h.some((x) => x.run_id === run.id
            && x.action === 'rollback'), JSON.stringify(h));

        // 5. a tag on a commit that never passed staging is refused
        w.repo.checkoutBranch('feature/x', sha2);
        const sha5 = w.repo.commit({ 'EXPERIMENT': 'x\n' }, 'an experiment');
        await expectRun(w, await pushRef(w, 'refs/heads/feature/x'),
            'success');
        run = await expectRun(w, await pushRef(w, 'refs/tags/v3.0.0', sha5),
            'failure');
        assert.match(stepOf(run, 'canary').reason ?? '', /exit/);
        const log = (await request(`${w.d.url}/api/v1/runs/${run.id}/log`))
            .text;
        assert.match(log, /never passed staging/);
        assert.deepEqual(await tally(o.prodListen, 10), { 'v1.1.0': 10 });

        // the audit log from the CLI: who, what, when, why
        r = pavedCli(w, ['history', 'checkout', '--env', 'production']);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /rollback/);
        assert.match(r.stdout, /v1\.1\.0/);
    });
});

test('delivery: a protected environment waits for paved approve',
    { ...T, ...skip }, async (t) => {
        await world(t, { approval: 'required', interval: '2s' }, async (w) => {
            const sha = w.repo.commit(app(), 'service v1');
            await expectRun(w, await pushRef(w, 'refs/heads/main'),
                'success');
            const { before, after } = w.repo.push('refs/tags/v1.0.0', sha);
            await deliver(w.d, 'push', pushPayload({ repo: w.repo.fullName,
                ref: 'refs/tags/v1.0.0', before, after,
                cloneUrl: w.repo.fileUrl }));
            const [run] = await waitRuns(w.d, { sha }, 1,
                (r) => r.ref === 'refs/tags/v1.0.0');
            await waitFor('the run waiting for an approval', async () =>
                (await history(w, 'checkout', 'production')).some((x) =>
                    x.run_id === run.id && x.result === 'waiting'));
            // nothing is deployed while it waits
            assert.match(await hit(w.o.prodListen), /^error:/);
            let r = pavedCli(w, ['approve', String(run.id + 1000)]);
            assert.equal(r.status, 1);
            assert.match(r.stderr, /not waiting for an approval/);
            r = pavedCli(w, ['approve', String(run.id), '--reason',
                'release train 42']);
            assert.equal(r.status, 0, r.stderr);
            const done = await expectRun(w, await waitDone(w.d, run.id),
                'success');
            assert.equal(done.state, 'success');
            assert.deepEqual(await tally(w.o.prodListen, 5), { 'v1.0.0': 5 });
            const h = await history(w, 'checkout', 'production');
            const ap = h.find((x) => x.action === 'approve');
            assert.equal(ap.actor, 'int-operator (cli)');
            assert.equal(ap.reason, 'release train 42');
            assert.equal(ap.run_id, run.id);
        });
    });

test('delivery: kill -9 of paved in the middle of a canary, then a '
    + 'restart; a cancelled canary',
    { ...T, ...skip }, async (t) => {
        await world(t, { interval: '4s' }, async (w) => {
            const { o } = w;
            const sha1 = w.repo.commit(app(), 'service v1');
            await expectRun(w, await pushRef(w, 'refs/heads/main'),
                'success');
            await expectRun(w, await pushRef(w, 'refs/tags/v1.0.0', sha1),
                'success');
            const sha2 = w.repo.commit({ NOTES: 'v2\n' }, 'service v2');
            await expectRun(w, await pushRef(w, 'refs/heads/main'),
                'success');
            const traffic = load(o.prodListen);
            const { before, after } = w.repo.push('refs/tags/v2.0.0', sha2);
            await deliver(w.d, 'push', pushPayload({ repo: w.repo.fullName,
                ref: 'refs/tags/v2.0.0', before, after,
                cloneUrl: w.repo.fileUrl }));
            const [run] = await waitRuns(w.d, { sha: sha2 }, 1,
                (r) => r.ref === 'refs/tags/v2.0.0');
            await waitFor('the canary at a weight', async () =>
                (await history(w, 'checkout', 'production')).some((x) =>
                    x.run_id === run.id && x.action === 'canary'));
            await w.d.kill9();
            // paved is gone: nginx keeps serving, both versions still run
            await sleep(1000);
            await w.d.restart();
            const requeued = await waitFor('the requeued run', async () => {
                const runs = await waitRuns(w.d, { sha: sha2 }, 1);
                return runs.find((r) => r.id !== run.id
                    && r.ref === 'refs/tags/v2.0.0');
            });
            const done = await waitDone(w.d, requeued.id);
            await traffic.stop();
            await expectRun(w, done, 'success');
            assert.deepEqual(traffic.errors, [], 'nginx never routed to a '
                + 'version that was not running');
            assert.deepEqual(await tally(o.prodListen, 20), { 'v2.0.0': 20 });
            const h = await history(w, 'checkout', 'production');
            assert.ok(h.some((x) => x.action === 'rollback'
                && /paved stopped during the rollout/.test(x.reason)),
            JSON.stringify(h, null, 1));
            // every version the state names runs
            const st = JSON.parse(fs.readFileSync(path.join(w.d.dataDir,
                'environments', 'production', 'checkout.json'), 'utf8'));
            assert.equal(st.candidate ?? null, null);
            assert.equal(st.stable.version, 'v2.0.0');
            process.kill(st.stable.pid, 0);

            // a canary whose run is cancelled is rolled back, not left at
            // a weight nobody drives
            const sha3 = w.repo.commit({ NOTES: 'v3\n' }, 'service v3');
            await expectRun(w, await pushRef(w, 'refs/heads/main'),
                'success');
            const t3 = w.repo.push('refs/tags/v3.0.0', sha3);
            await deliver(w.d, 'push', pushPayload({ repo: w.repo.fullName,
                ref: 'refs/tags/v3.0.0', before: t3.before, after: t3.after,
                cloneUrl: w.repo.fileUrl }));
            const traffic3 = load(o.prodListen);
            const [run3] = await waitRuns(w.d, { sha: sha3 }, 1,
                (r) => r.ref === 'refs/tags/v3.0.0');
            await waitFor('the v3 canary started', async () =>
                (await history(w, 'checkout', 'production')).some((x) =>
                    x.run_id === run3.id && x.action === 'deploy'
                    && x.result === 'started'));
            // wherever the step is now (waiting for Prometheus, at a
            // weight), a cancel must leave nothing in flight
            await sleep(1500);
            const c = cli(w.d, ['cancel', String(run3.id)]);
            assert.equal(c.status, 0, c.stderr);
            const ended = await waitDone(w.d, run3.id);
            await traffic3.stop();
            assert.deepEqual(traffic3.errors, []);
            assert.equal(ended.state, 'cancelled');
            const h3 = await history(w, 'checkout', 'production');
            assert.ok(h3.some((x) => x.run_id === run3.id
                && x.action === 'rollback' && /stopped/.test(x.reason)),
            JSON.stringify(h3, null, 1));
            assert.deepEqual(await tally(o.prodListen, 20), { 'v2.0.0': 20 });
        });
    });
