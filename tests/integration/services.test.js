// [services] Issue 6, the catalog: services made by `paved create-service`
// (run beside a live daemon on the same data dir) show in `paved services`
// and GET /api/v1/services with their template version and whether they
// are behind the daemon's templates; `paved status SERVICE` shows, per
// environment, the newest run, the deployed version (the newest
// successful run: a tag's name, else the short sha) and health from real
// runs planned from signed webhooks; `paved platform` counts services by
// type and language and this week's runs and failures, names the oldest
// queued delivery while one waits, and lists guardrail exceptions that
// expired or expire within 14 days, read from each service's repository at
// its default branch (a --dir working tree and a --remote bare
// repository); an unknown service is a 404 and exit 1.
// Each test owns its daemon, repositories and temp dirs (lib/runs.js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pavedBin } from './lib/daemon.js';
import { git, ZERO_SHA } from './lib/git.js';
import { request } from './lib/http.js';
import {
    apiJson, assertRunState, cli, cliJson, deliver, prPayload, pushPayload,
    repoRoot, RFC3339, scenario, waitDone, waitFor, waitRuns, waitState, yq,
} from './lib/runs.js';

const T = { timeout: 300_000 };
const TEMPLATES = path.join(repoRoot, 'templates');

// YYYY-MM-DD, days from today (UTC)
function day(offset) {
    const d = new Date(Date.now() + offset * 86_400_000);
    return d.toISOString().slice(0, 10);
}

// `paved create-service ...` as a user runs it next to the daemon: the
// same data dir (the catalog), nothing else of the test's environment.
function createService(ctx, args) {
    const r = spawnSync(pavedBin(), ['create-service', ...args], {
        encoding: 'utf8', timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/',
            PAVED_DATA_DIR: ctx.d.dataDir },
    });
    assert.equal(r.status, 0, `paved create-service ${args.join(' ')}: ` +
        `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r;
}

// git in a service's working tree, with a fixed identity
function gitIn(dir, args) {
    return git(['-c', 'user.name=Int Tester', '-c',
        'user.email=int@example.invalid', ...args], { cwd: dir });
}

function commitFiles(dir, files, message) {
    for (const [name, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), content);
    }
    gitIn(dir, ['add', '--all']);
    gitIn(dir, ['commit', '--quiet', '-m', message]);
    return gitIn(dir, ['rev-parse', 'HEAD']);
}

// Pushes sha of work (a service's tree) to ref of the bare repository and
// delivers the signed push webhook of it.
async function pushAndDeliver(ctx, svc, ref, sha) {
    const before = (() => {
        try {
            return git(['rev-parse', '--verify', '--quiet', ref],
                { cwd: svc.bare });
        } catch {
            return ZERO_SHA;
        }
    })();
    gitIn(svc.work, ['push', '--quiet', '--force', svc.bare, `${sha}:${ref}`]);
    await deliver(ctx.d, 'push', pushPayload({ repo: svc.repo, ref, before,
        after: sha, cloneUrl: `file://${svc.bare}` }));
}

async function runOf(ctx, repo, sha, env) {
    const [r] = await waitRuns(ctx.d, { repo, sha }, 1,
        (x) => x.environment === env);
    return r;
}

function services(ctx) {
    return apiJson(ctx.d, '/api/v1/services').then((r) => r.json);
}

test('the catalog: services, status and platform from real services and ' +
    'runs', T, async (t) => {
    await scenario(t, async (ctx) => {
        // the daemon's templates are one version ahead of the repository's
        const have = Number(fs.readFileSync(path.join(TEMPLATES, 'VERSION'),
            'utf8').trim());
        assert.ok(Number.isInteger(have) && have >= 1,
            `templates/VERSION is not an integer: ${have}`);
        const newer = path.join(ctx.tmp, 'templates-newer');
        fs.cpSync(TEMPLATES, newer, { recursive: true });
        fs.writeFileSync(path.join(newer, 'VERSION'), `${have + 1}\n`);

        // One step for every run. A run of payments/reports waits for
        // RELEASE (so that, with one run at a time, the next one queues);
        // a commit with a FAIL file fails.
        const release = path.join(ctx.out, 'RELEASE');
        ctx.pipeline('service.yaml', `name: service
on:
  push: {branches: [main]}
  tag: {patterns: ["v*"]}
  pull_request: {branches: [main]}
env:
  RELEASE: ${yq(release)}
steps:
  - name: check
    run: |
      if [ "$PAVED_REPO" = payments/reports ]; then
        while [ ! -e "$RELEASE" ]; do sleep 0.1; done
      fi
      test ! -e FAIL
`);
        await ctx.start({ PAVED_MAX_RUNS: '1', PAVED_TEMPLATES_DIR: newer });

        // ---- create three services beside the running daemon
        const svcDir = path.join(ctx.tmp, 'services');
        fs.mkdirSync(svcDir);
        const checkout = {
            repo: 'payments/checkout', work: path.join(svcDir, 'checkout'),
            bare: path.join(ctx.gitRoot, 'payments', 'checkout.git'),
        };
        const reports = {
            repo: 'payments/reports', work: path.join(svcDir, 'reports'),
            bare: path.join(ctx.gitRoot, 'payments', 'reports.git'),
        };
        const orders = {
            repo: 'payments/orders',
            bare: path.join(ctx.gitRoot, 'payments', 'orders.git'),
        };
        for (const s of [checkout, reports, orders]) {
            fs.mkdirSync(path.dirname(s.bare), { recursive: true });
            git(['init', '--quiet', '--bare', '--initial-branch', 'main',
                s.bare]);
        }
        createService(ctx, ['--name=checkout', '--type=api', '--lang=go',
            `--dir=${checkout.work}`, '--owner=payments',
            `--templates=${TEMPLATES}`]);
        createService(ctx, ['--name=orders', '--type=worker',
            '--lang=python', `--remote=file://${orders.bare}`,
            '--owner=payments', '--db', `--templates=${TEMPLATES}`]);
        createService(ctx, ['--name=reports', '--type=cron',
            '--lang=typescript', `--dir=${reports.work}`, '--owner=payments',
            `--templates=${newer}`]);

        // ---- paved services / GET /api/v1/services
        const list = await services(ctx);
        assert.equal(list.template_version, have + 1, JSON.stringify(list));
        assert.deepEqual(list.services.map((s) => s.name),
            ['checkout', 'orders', 'reports'], 'sorted by name');
        const [sc, so, sr] = list.services;
        assert.equal(sc.type, 'api');
        assert.equal(sc.lang, 'go');
        assert.equal(sc.owner, 'payments');
        assert.equal(sc.repo, 'payments/checkout');
        assert.equal(sc.url, fs.realpathSync(checkout.work));
        assert.equal(sc.db, false);
        assert.match(sc.created_at, RFC3339);
        assert.ok(Math.abs(Date.parse(sc.created_at) - Date.now()) < 600_000,
            `created_at ${sc.created_at} is not now`);
        assert.equal(sc.template_version, have);
        assert.equal(sc.current_template_version, have + 1);
        assert.equal(sc.behind, true);
        assert.equal(so.type, 'worker');
        assert.equal(so.lang, 'python');
        assert.equal(so.repo, 'payments/orders', 'repo named from --remote');
        assert.equal(so.url, `file://${orders.bare}`);
        assert.equal(so.db, true);
        assert.equal(so.behind, true);
        assert.equal(sr.type, 'cron');
        assert.equal(sr.lang, 'typescript');
        assert.equal(sr.template_version, have + 1);
        assert.equal(sr.behind, false);

        assert.deepEqual(cliJson(ctx.d, ['services']), list,
            '`paved services --json` prints the API\'s answer');
        const text = cli(ctx.d, ['services']);
        assert.equal(text.status, 0, text.stderr);
        const lines = text.stdout.split('\n');
        const row = (name) => lines.find((l) => l.startsWith(`${name} `));
        for (const name of ['checkout', 'orders', 'reports'])
            assert.ok(row(name), `no line for ${name}:\n${text.stdout}`);
        assert.match(row('checkout'),
            new RegExp(`\\bapi\\b.*\\bgo\\b.*payments/checkout.*` +
                `${have} \\(behind: ${have + 1}\\)`), text.stdout);
        assert.doesNotMatch(row('reports'), /behind/, text.stdout);
        assert.match(text.stdout, /2 of 3 services behind/, text.stdout);

        // ---- guardrail exceptions: in checkout's working tree (its
        // default branch), and in orders' bare repository
        commitFiles(checkout.work, {
            '.paved/policy.yaml': `exceptions:
  - rule: k8s.host-path
    path: k8s/deployment.yaml
    reason: node agent reads /proc until the CSI driver ships
    expires: ${day(3)}
  - rule: k8s.read-only-root-fs
    path: k8s/
    reason: the cache writes to /tmp
    expires: ${day(-2)}
  - rule: k8s.resources
    path: k8s/deployment.yaml
    reason: far in the future
    expires: ${day(60)}
`,
        }, 'policy exceptions');
        const ordersWork = path.join(svcDir, 'orders-clone');
        git(['clone', '--quiet', orders.bare, ordersWork]);
        commitFiles(ordersWork, {
            '.paved/policy.yaml': `exceptions:
  - rule: docker.user-root
    path: Dockerfile
    reason: the base image's user is being replaced
    expires: ${day(10)}
`,
        }, 'policy exception');
        gitIn(ordersWork, ['push', '--quiet', 'origin', 'HEAD:main']);
        orders.work = ordersWork;

        // ---- real runs of checkout: staging, production (a tag), a pull
        // request, then a failing push to main
        const s1 = gitIn(checkout.work, ['rev-parse', 'HEAD']);
        await pushAndDeliver(ctx, checkout, 'refs/heads/main', s1);
        const r1 = await waitDone(ctx.d, (await runOf(ctx, checkout.repo, s1,
            'staging')).id);
        await assertRunState(ctx.d, r1, 'success');
        await pushAndDeliver(ctx, checkout, 'refs/tags/v1.0.0', s1);
        const r2 = await waitDone(ctx.d, (await runOf(ctx, checkout.repo, s1,
            'production')).id);
        await assertRunState(ctx.d, r2, 'success');

        gitIn(checkout.work, ['checkout', '--quiet', '-b', 'feature']);
        const featurePolicy = fs.readFileSync(path.join(checkout.work,
            '.paved', 'policy.yaml'), 'utf8') + `  - rule: k8s.pdb
    path: k8s/
    reason: only on the feature branch
    expires: ${day(1)}
`;
        const s3 = commitFiles(checkout.work, { 'NOTES.md': 'a change\n',
            '.paved/policy.yaml': featurePolicy }, 'a change');
        gitIn(checkout.work, ['push', '--quiet', '--force', checkout.bare,
            `${s3}:refs/heads/feature`]);
        gitIn(checkout.work, ['checkout', '--quiet', 'main']);
        await deliver(ctx.d, 'pull_request', prPayload({ repo: checkout.repo,
            headRef: 'feature', headSha: s3, baseSha: s1,
            cloneUrl: `file://${checkout.bare}` }));
        const r3 = await waitDone(ctx.d, (await runOf(ctx, checkout.repo, s3,
            null)).id);
        await assertRunState(ctx.d, r3, 'success');

        const s4 = commitFiles(checkout.work, { FAIL: 'yes\n' }, 'break it');
        await pushAndDeliver(ctx, checkout, 'refs/heads/main', s4);
        const r4 = await waitDone(ctx.d, (await runOf(ctx, checkout.repo, s4,
            'staging')).id);
        await assertRunState(ctx.d, r4, 'failure');

        // ---- the oldest queued delivery: reports' run holds the only run
        // slot, orders' run waits behind it
        const sr1 = gitIn(reports.work, ['rev-parse', 'HEAD']);
        await pushAndDeliver(ctx, reports, 'refs/heads/main', sr1);
        const rr = await runOf(ctx, reports.repo, sr1, 'staging');
        await waitState(ctx.d, rr.id, 'running');
        const so1 = gitIn(orders.work, ['rev-parse', 'HEAD']);
        await deliver(ctx.d, 'push', pushPayload({ repo: orders.repo,
            ref: 'refs/heads/main', before: ZERO_SHA, after: so1,
            cloneUrl: `file://${orders.bare}` }));
        const ro = await runOf(ctx, orders.repo, so1, 'staging');
        assert.equal(ro.state, 'queued', JSON.stringify(ro));
        let queued;
        await waitFor('orders\' run as the oldest queued', async () => {
            queued = (await apiJson(ctx.d, '/api/v1/platform')).json
                .oldest_queued;
            return queued && queued.run === ro.id;
        }, { describe: async () => JSON.stringify(queued) });
        assert.equal(queued.repo, 'payments/orders');
        assert.equal(queued.delivery, ro.delivery);
        assert.match(queued.queued_at, RFC3339);
        assert.ok(Number.isInteger(queued.age_seconds) &&
            queued.age_seconds >= 0 && queued.age_seconds < 600,
        JSON.stringify(queued));
        const waiting = cli(ctx.d, ['platform']);
        assert.match(waiting.stdout, new RegExp(`oldest queued: delivery ` +
            `${ro.delivery} \\(run ${ro.id}, payments/orders\\), waiting`),
        waiting.stdout);
        fs.writeFileSync(release, 'go\n');
        await assertRunState(ctx.d, await waitDone(ctx.d, rr.id), 'success');
        await assertRunState(ctx.d, await waitDone(ctx.d, ro.id), 'success');

        // ---- paved status checkout / GET /api/v1/services/checkout
        const st = (await apiJson(ctx.d, '/api/v1/services/checkout')).json;
        assert.equal(st.service.name, 'checkout');
        assert.equal(st.service.behind, true);
        assert.deepEqual(st.environments.map((e) => e.environment),
            ['staging', 'production', null]);
        const [staging, production, prs] = st.environments;
        assert.equal(staging.latest_run.id, r4.id, 'the newest staging run');
        assert.equal(staging.latest_run.state, 'failure');
        assert.equal(staging.latest_run.sha, s4);
        assert.equal(staging.latest_run.ref, 'refs/heads/main');
        assert.match(staging.latest_run.finished_at, RFC3339);
        assert.deepEqual(
            { version: staging.deployed.version, run: staging.deployed.run },
            { version: s1.slice(0, 7), run: r1.id },
            'staging runs the newest successful run\'s commit');
        assert.equal(staging.health, 'failing');
        assert.equal(production.latest_run.id, r2.id);
        assert.equal(production.deployed.version, 'v1.0.0');
        assert.equal(production.deployed.sha, s1);
        assert.equal(production.health, 'healthy');
        assert.equal(prs.latest_run.id, r3.id);
        assert.equal(prs.latest_run.event, 'pull_request');
        assert.equal(prs.deployed, null);
        assert.equal(prs.health, null);

        assert.deepEqual(cliJson(ctx.d, ['status', 'checkout']), st);
        const stText = cli(ctx.d, ['status', 'checkout']);
        assert.equal(stText.status, 0, stText.stderr);
        assert.match(stText.stdout,
            /^checkout: api service in go, owned by payments$/m);
        assert.match(stText.stdout, new RegExp(`^staging +failing +` +
            `${s1.slice(0, 7)} +#${r4.id} failure ${s4.slice(0, 7)} ` +
            `refs/heads/main`, 'm'), stText.stdout);
        assert.match(stText.stdout, new RegExp(`^production +healthy +` +
            `v1\\.0\\.0 +#${r2.id} success`, 'm'), stText.stdout);
        assert.match(stText.stdout, new RegExp(`^pull requests +- +- +` +
            `#${r3.id} success`, 'm'), stText.stdout);

        // an environment without runs: nothing deployed, health unknown
        const none = (await apiJson(ctx.d, '/api/v1/services/reports')).json;
        assert.equal(none.environments[1].latest_run, null);
        assert.equal(none.environments[1].deployed, null);
        assert.equal(none.environments[1].health, 'unknown');

        // ---- paved platform / GET /api/v1/platform (with the feature
        // branch checked out: the default branch's policy still counts)
        gitIn(checkout.work, ['checkout', '--quiet', 'feature']);
        const pf = (await apiJson(ctx.d, '/api/v1/platform')).json;
        assert.deepEqual(pf.services, {
            total: 3,
            by_type: { api: 1, worker: 1, cron: 1 },
            by_lang: { go: 1, python: 1, typescript: 1 },
        });
        // checkout: main, tag, pull request, failing main; reports; orders
        assert.equal(pf.week.runs, 6, JSON.stringify(pf.week));
        assert.equal(pf.week.failures, 1, JSON.stringify(pf.week));
        assert.equal(pf.week.days, 7);
        assert.equal(pf.oldest_queued, null, 'nothing waits any more');
        assert.equal(pf.exceptions_window_days, 14);
        assert.deepEqual(pf.exceptions_skipped, []);
        assert.deepEqual(pf.exceptions, [
            { service: 'checkout', rule: 'k8s.host-path',
                path: 'k8s/deployment.yaml',
                expires: day(3),
                reason: 'node agent reads /proc until the CSI driver ships',
                expired: false, days_left: 3 },
            { service: 'checkout', rule: 'k8s.read-only-root-fs',
                path: 'k8s/', expires: day(-2),
                reason: 'the cache writes to /tmp', expired: true,
                days_left: -2 },
            { service: 'orders', rule: 'docker.user-root', path: 'Dockerfile',
                expires: day(10),
                reason: 'the base image\'s user is being replaced',
                expired: false, days_left: 10 },
        ], 'expired and within 14 days, not the one in 60 days');

        assert.ok(Math.abs(Date.parse(pf.week.since) -
            (Date.now() - 7 * 86_400_000)) < 600_000, pf.week.since);
        // the CLI's answer is the API's (its own request: a later "since")
        const pfCli = cliJson(ctx.d, ['platform']);
        assert.match(pfCli.week.since, RFC3339);
        pfCli.week.since = pf.week.since;
        assert.deepEqual(pfCli, pf);
        const pfText = cli(ctx.d, ['platform']);
        assert.equal(pfText.status, 0, pfText.stderr);
        assert.match(pfText.stdout, /^services: 3 \(api 1, worker 1, cron 1; go 1, python 1, typescript 1\)$/m);
        assert.match(pfText.stdout, /^runs in the last 7 days: 6, 1 failed$/m);
        assert.match(pfText.stdout, /^oldest queued: nothing is waiting$/m);
        assert.match(pfText.stdout, new RegExp(`^checkout +k8s\\.host-path +` +
            `k8s/deployment\\.yaml +${day(3)} +3 +node agent`, 'm'),
        pfText.stdout);
        assert.match(pfText.stdout, new RegExp(`^checkout +` +
            `k8s\\.read-only-root-fs +k8s/ +${day(-2)} +expired +the cache`,
        'm'), pfText.stdout);
        assert.match(pfText.stdout, new RegExp(`^orders +docker\\.user-root +` +
            `Dockerfile +${day(10)} +10 `, 'm'), pfText.stdout);
        assert.doesNotMatch(pfText.stdout, /far in the future/);
        assert.doesNotMatch(pfText.stdout, /only on the feature branch/);
    });
});

test('an unknown service: 404, exit 1 with the name; usage errors exit 2',
    T, async (t) => {
        await scenario(t, async (ctx) => {
            await ctx.start();
            const r = await request(`${ctx.d.url}/api/v1/services/nope`);
            assert.equal(r.status, 404, r.text);
            assert.match(r.json.error, /no service "nope"/);
            const bad = await request(`${ctx.d.url}/api/v1/services/a/b`);
            assert.equal(bad.status, 404, bad.text);
            const post = await request(`${ctx.d.url}/api/v1/services`,
                { method: 'POST' });
            assert.equal(post.status, 405, post.text);

            const c = cli(ctx.d, ['status', 'nope']);
            assert.equal(c.status, 1, `${c.stdout}\n${c.stderr}`);
            assert.equal(c.stdout, '');
            assert.match(c.stderr, /no service "nope" in the catalog/);
            assert.match(c.stderr, /paved services/);
            const cj = cli(ctx.d, ['status', 'nope', '--json']);
            assert.equal(cj.status, 1, cj.stderr);

            assert.equal(cli(ctx.d, ['status']).status, 2);
            assert.equal(cli(ctx.d, ['services', '--bogus']).status, 2);
            assert.equal(cli(ctx.d, ['platform', 'extra']).status, 2);

            // an empty catalog is an answer, not an error
            const empty = await apiJson(ctx.d, '/api/v1/services');
            assert.deepEqual(empty.json.services, []);
            const e = cli(ctx.d, ['services']);
            assert.equal(e.status, 0, e.stderr);
            assert.match(e.stdout, /no services in the catalog/);
            const pf = (await apiJson(ctx.d, '/api/v1/platform')).json;
            assert.equal(pf.services.total, 0);
            assert.deepEqual(pf.exceptions, []);

            // the daemon is not there: exit 1, not a crash
            const gone = spawnSync(pavedBin(), ['services', '--url',
                'http://127.0.0.1:9'], { encoding: 'utf8',
                env: { PATH: process.env.PATH } });
            assert.equal(gone.status, 1, gone.stderr);
            assert.match(gone.stderr, /is paved serve running/);
        });
    });
