// [golden-paths] Issue 6, "Tests": `paved create-service` for every type x
// language (9 combinations), each rendered from the repository's real
// templates/, without flags and with --db --queue:
//  - the repository passes `paved check` with ZERO findings and `paved
//    lint paved.yaml` against the platform pipelines;
//  - its own `make build test lint` passes where the language's toolchain
//    is on this machine (Go from Debian's golang-go, Debian's python3,
//    node + npm); a missing toolchain is a SKIPPED subtest that says why,
//    never a pass;
//  - `terraform fmt -check`, `kubectl kustomize k8s` and `promtool check
//    rules` pass when those tools are on the machine (skipped, with the
//    reason, when not; no API server can run here, so no dry run);
//  - the dashboard is JSON; the first commit is by the platform's
//    identity, carries the render trailer, and the catalog has it;
//  - `paved upgrade-service`: nothing to do at the same version; newer
//    templates merged on paved/upgrade-N with the team's edit kept and the
//    service still passing `paved check`; a line both changed is left with
//    conflict markers (exit 1), and a second try during that merge is
//    refused;
//  - end to end: the nine services are pushed (by create-service itself,
//    --remote) to local bare repositories, a signed push webhook for each
//    goes to a real daemon running the real pipelines/, and the platform
//    pipeline's build, test and guardrails steps succeed;
//  - bad input: invalid and duplicate names, unknown type or language, a
//    target that exists, a template with an error - each a clear message,
//    exit status 2 or 1, and nothing written (no directory, no catalog
//    row, no commit on the remote).
// Toolchain caches (GOCACHE, npm's cache) are shared between combinations
// so that each compiles the standard library once. No timed assertions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pavedBin } from './lib/daemon.js';
import { git, ZERO_SHA } from './lib/git.js';
import {
    deliver, getRun, pushPayload, repoRoot, scenario, stepOf, waitDone,
    waitRuns,
} from './lib/runs.js';

const TYPES = ['api', 'worker', 'cron'];
const LANGS = ['go', 'python', 'typescript'];
const TEMPLATES = path.join(repoRoot, 'templates');
const PIPELINES = path.join(repoRoot, 'pipelines');
const T = { timeout: 900_000 };

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-golden-'));
const caches = path.join(root, 'caches');
fs.mkdirSync(caches, { recursive: true });
process.on('exit', () => {
    if (process.env.PAVED_INT_KEEP !== '1')
        fs.rmSync(root, { recursive: true, force: true });
});

function which(cmd) {
    const r = spawnSync('sh', ['-c', `command -v ${cmd}`],
        { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
}

// Why a language's `make` cannot run here, or null when it can.
function toolchainMissing(lang) {
    switch (lang) {
    case 'go':
        return which('go') ? null : 'go is not installed (Debian: golang-go)';
    case 'python':
        return which('python3') ? null : 'python3 is not installed';
    default:
        return which('node') && which('npm') ? null
            : 'node and npm are not installed';
    }
}

// Only PATH and HOME, as the platform gives steps, plus the shared caches.
function toolEnv() {
    return {
        PATH: process.env.PATH,
        HOME: process.env.HOME ?? os.homedir(),
        GOCACHE: path.join(caches, 'go-build'),
        npm_config_cache: path.join(caches, 'npm'),
        LANG: 'C.UTF-8',
    };
}

function run(cmd, args, { cwd, env, timeout = 600_000 } = {}) {
    const r = spawnSync(cmd, args, {
        cwd, encoding: 'utf8', timeout, env: env ?? toolEnv(),
        maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '',
        error: r.error };
}

function paved(args, { dataDir, env = {} } = {}) {
    return run(pavedBin(), args, {
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/',
            PAVED_DATA_DIR: dataDir, PAVED_TEMPLATES_DIR: TEMPLATES, ...env },
    });
}

function explain(what, r) {
    return `${what}: exit ${r.status}\n--- stdout\n${r.stdout.slice(-4000)}` +
        `\n--- stderr\n${r.stderr.slice(-4000)}`;
}

function walk(dir, rel = '') {
    const out = [];
    for (const e of fs.readdirSync(path.join(dir, rel),
        { withFileTypes: true })) {
        const p = path.join(rel, e.name);
        if (e.name === '.git')
            continue;
        if (e.isDirectory())
            out.push(...walk(dir, p));
        else
            out.push(p);
    }
    return out.sort();
}

// ------------------------------------------------- the nine combinations

for (const type of TYPES) {
    for (const lang of LANGS) {
        for (const flags of [[], ['--db', '--queue']]) {
            const name = `${type}-${lang}${flags.length ? '-dq' : ''}`;
            test(`create-service ${type}/${lang} ${flags.join(' ')}`, T,
                async (t) => {
                    const base = path.join(root, name);
                    const dir = path.join(base, 'svc');
                    const dataDir = path.join(base, 'var');
                    fs.mkdirSync(dataDir, { recursive: true });
                    let r = paved(['create-service', `--name=${name}`,
                        `--type=${type}`, `--lang=${lang}`, ...flags,
                        '--owner=payments', `--dir=${dir}`], { dataDir });
                    assert.equal(r.status, 0, explain('create-service', r));
                    assert.match(r.stdout, new RegExp(`^created ${name} ` +
                        `\\(${type}, ${lang}\\)`));

                    // what every service gets
                    const files = walk(dir);
                    for (const f of ['Dockerfile', 'Makefile', 'paved.yaml',
                        '.paved/answers.yaml', 'k8s/kustomization.yaml',
                        'k8s/networkpolicy.yaml',
                        'observability/dashboard.json',
                        'observability/alerts.yaml'])
                        assert.ok(files.includes(f), `${f} missing: ${files}`);
                    if (type === 'cron') {
                        assert.ok(files.includes('k8s/cronjob.yaml'));
                        assert.ok(!files.includes('k8s/deployment.yaml'));
                    } else {
                        assert.ok(files.includes('k8s/deployment.yaml'));
                    }
                    assert.equal(files.includes('k8s/service.yaml'),
                        type === 'api');
                    assert.equal(files.includes('k8s/hpa.yaml'),
                        type === 'api');
                    assert.equal(files.includes('terraform/database.tf'),
                        flags.includes('--db'));
                    assert.equal(files.includes('terraform/queue.tf'),
                        flags.includes('--queue'));
                    const mk = fs.readFileSync(path.join(dir, 'Makefile'),
                        'utf8');
                    for (const target of ['build', 'test', 'lint', 'run'])
                        assert.match(mk, new RegExp(`^${target}:`, 'm'),
                            `Makefile has no ${target} target`);
                    JSON.parse(fs.readFileSync(path.join(dir, 'observability',
                        'dashboard.json'), 'utf8'));
                    const answers = fs.readFileSync(path.join(dir, '.paved',
                        'answers.yaml'), 'utf8');
                    assert.match(answers, new RegExp(`^name: "${name}"$`, 'm'));
                    assert.match(answers, /^template_version: \d+$/m);

                    // the first commit
                    const log = git(['log', '--format=%an <%ae>%n%B'],
                        { cwd: dir });
                    assert.match(log, /^paved <paved@localhost>$/m);
                    assert.match(log, /^Paved-Render: \d+$/m);
                    assert.equal(git(['status', '--porcelain'], { cwd: dir }),
                        '');

                    // guardrails: zero findings
                    r = paved(['check', dir, '--format', 'json'], { dataDir });
                    const report = JSON.parse(r.stdout);
                    assert.deepEqual(report.findings.map((f) =>
                        `${f.rule} ${f.path}:${f.line} ${f.message}`), []);
                    assert.equal(r.status, 0, explain('paved check', r));

                    // the repository's pipeline selection
                    r = paved(['lint', path.join(dir, 'paved.yaml'),
                        '--pipelines', PIPELINES], { dataDir });
                    assert.equal(r.status, 0, explain('paved lint', r));

                    // the catalog has it
                    r = paved(['create-service', `--name=${name}`,
                        `--type=${type}`, `--lang=${lang}`,
                        `--dir=${dir}-again`], { dataDir });
                    assert.equal(r.status, 1, explain('duplicate name', r));
                    assert.match(r.stderr, /is taken/);
                    assert.ok(!fs.existsSync(`${dir}-again`));

                    const missing = toolchainMissing(lang);
                    await t.test(`make build test lint (${lang})`,
                        { skip: missing ?? false }, () => {
                            for (const target of ['build', 'test', 'lint']) {
                                const m = run('make', [target], { cwd: dir });
                                assert.equal(m.status, 0,
                                    explain(`make ${target}`, m));
                            }
                        });
                    const terraform = which('terraform');
                    await t.test('terraform fmt -check', {
                        skip: !flags.length ? 'no terraform files without '
                            + '--db/--queue' : (terraform ? false
                            : 'terraform is not installed'),
                    }, () => {
                        const m = run(terraform, ['fmt', '-check', '-diff',
                            path.join(dir, 'terraform')]);
                        assert.equal(m.status, 0, explain('terraform fmt', m));
                    });
                    const kubectl = which('kubectl');
                    await t.test('kubectl kustomize k8s', {
                        skip: kubectl ? false : 'kubectl is not installed',
                    }, () => {
                        const m = run(kubectl, ['kustomize',
                            path.join(dir, 'k8s')]);
                        assert.equal(m.status, 0, explain('kustomize', m));
                        assert.match(m.stdout, type === 'cron'
                            ? /^kind: CronJob$/m : /^kind: Deployment$/m);
                        assert.match(m.stdout, /^kind: NetworkPolicy$/m);
                    });
                    const promtool = which('promtool');
                    await t.test('promtool check rules', {
                        skip: promtool ? false : 'promtool is not installed '
                            + '(Debian: prometheus)',
                    }, () => {
                        const m = run(promtool, ['check', 'rules',
                            path.join(dir, 'observability', 'alerts.yaml')]);
                        assert.equal(m.status, 0, explain('promtool', m));
                    });
                });
        }
    }
}

// ------------------------------------------------------------ bad input

test('bad input: a clear message and nothing written', T, async () => {
    const base = path.join(root, 'bad');
    const dataDir = path.join(base, 'var');
    fs.mkdirSync(dataDir, { recursive: true });
    const cases = [
        [['--name=Checkout', '--type=api', '--lang=go'], 2, /DNS label/],
        [['--name=1checkout', '--type=api', '--lang=go'], 2, /DNS label/],
        [['--name=check_out', '--type=api', '--lang=go'], 2, /DNS label/],
        [[`--name=${'a'.repeat(64)}`, '--type=api', '--lang=go'], 2,
            /at most 63/],
        [['--name=checkout', '--type=frontend', '--lang=go'], 2,
            /unknown type "frontend": use --type=api, worker or cron/],
        [['--name=checkout', '--type=api', '--lang=rust'], 2,
            /unknown language "rust": use --lang=go, python or typescript/],
        [['--name=checkout', '--type=api'], 2, /required/],
        [['--name=checkout', '--type=api', '--lang=go', '--colour'], 2,
            /unknown argument/],
        [['--name=checkout', '--type=api', '--lang=go', '--owner=Team A'],
            2, /invalid owner/],
    ];
    for (const [args, status, re] of cases) {
        const dir = path.join(base, 'out');
        const r = paved(['create-service', ...args, `--dir=${dir}`],
            { dataDir });
        assert.equal(r.status, status, explain(args.join(' '), r));
        assert.match(r.stderr, re);
        assert.ok(!fs.existsSync(dir), `${args.join(' ')} wrote ${dir}`);
    }

    // a password in --remote would be printed and stored: refused
    let r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', '--remote=https://x-access-token:s3cr3t@git.example/a/b.git'],
    { dataDir });
    assert.equal(r.status, 2, explain('password in --remote', r));
    assert.match(r.stderr, /--remote holds a password/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t/);

    // no store where the configuration says: no private catalog appears
    const nowhere = path.join(base, 'no-such-data-dir');
    const target = path.join(base, 'would-be');
    r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', `--dir=${target}`], { dataDir: nowhere });
    assert.equal(r.status, 1, explain('no store', r));
    assert.match(r.stderr, /no paved store here: data_dir ".*no-such-data-dir" does not exist/);
    assert.ok(!fs.existsSync(nowhere) && !fs.existsSync(target));
    r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', `--dir=${target}`, '--dry-run'], { dataDir: nowhere });
    assert.equal(r.status, 0, explain('dry run without a store', r));
    assert.match(r.stderr, /the name was not checked against the catalog/);
    assert.ok(!fs.existsSync(nowhere) && !fs.existsSync(target));

    // a target that exists is left exactly as it was
    const taken = path.join(base, 'existing');
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'mine.txt'), 'keep\n');
    r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', `--dir=${taken}`], { dataDir });
    assert.equal(r.status, 1, explain('existing dir', r));
    assert.match(r.stderr, /already exists: paved never writes into an existing path/);
    assert.deepEqual(fs.readdirSync(taken), ['mine.txt']);

    // a template with an error: file:line:col, nothing written, no row
    const broken = path.join(base, 'templates');
    fs.cpSync(TEMPLATES, broken, { recursive: true });
    const mk = path.join(broken, 'langs', 'go', 'Makefile');
    fs.writeFileSync(mk, fs.readFileSync(mk, 'utf8') +
        '\n# {{servce.name}}\n');
    const out = path.join(base, 'from-broken');
    r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', `--dir=${out}`, `--templates=${broken}`], { dataDir });
    assert.equal(r.status, 1, explain('broken template', r));
    assert.match(r.stderr,
        /langs\/go\/Makefile:\d+:\d+: unknown variable "servce\.name"/);
    assert.ok(!fs.existsSync(out));
    // the name was not taken by the failed attempt
    r = paved(['create-service', '--name=checkout', '--type=api',
        '--lang=go', `--dir=${out}`, '--dry-run'], { dataDir });
    assert.equal(r.status, 0, explain('dry run', r));
    assert.match(r.stdout, /nothing written \(--dry-run\)/);
    assert.match(r.stdout, /k8s\/deployment\.yaml/);
    assert.ok(!fs.existsSync(out), '--dry-run wrote the directory');

    // a remote that already has history is refused, not forced, and
    // nothing is recorded
    const bare = path.join(base, 'remote.git');
    git(['init', '--quiet', '--bare', '--initial-branch', 'main', bare]);
    const other = path.join(base, 'other');
    git(['init', '--quiet', '--initial-branch', 'main', other]);
    fs.writeFileSync(path.join(other, 'x'), 'x\n');
    git(['add', 'x'], { cwd: other });
    git(['-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '--quiet',
        '-m', 'x'], { cwd: other });
    git(['push', '--quiet', bare, 'main'], { cwd: other });
    const before = git(['rev-parse', 'main'], { cwd: bare });
    r = paved(['create-service', '--name=pushed', '--type=api', '--lang=go',
        `--remote=file://${bare}`], { dataDir });
    assert.equal(r.status, 1, explain('non-empty remote', r));
    assert.match(r.stderr, /refused/);
    assert.equal(git(['rev-parse', 'main'], { cwd: bare }), before);
    r = paved(['create-service', '--name=pushed', '--type=api', '--lang=go',
        `--dir=${path.join(base, 'pushed')}`], { dataDir });
    assert.equal(r.status, 0, explain('name free after failed push', r));
});

// -------------------------------------------------------------- upgrades

test('upgrade-service: newer templates merged on a branch, the team\'s '
    + 'edits kept; conflicts left marked, exit 1', T, async () => {
    const base = path.join(root, 'upgrade');
    const dataDir = path.join(base, 'var');
    fs.mkdirSync(dataDir, { recursive: true });
    const dir = path.join(base, 'svc');
    let r = paved(['create-service', '--name=ledger', '--type=api',
        '--lang=python', `--dir=${dir}`], { dataDir });
    assert.equal(r.status, 0, explain('create-service', r));
    const commitAll = (msg) => {
        git(['-c', 'user.name=team', '-c', 'user.email=team@x', 'commit',
            '--quiet', '-am', msg], { cwd: dir });
    };
    // the team's own change, far from what the templates will change
    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(readme, fs.readFileSync(readme, 'utf8') +
        '\nOn call: #ledger-oncall\n');
    commitAll('team notes');

    r = paved(['upgrade-service', dir, '--json'], { dataDir });
    assert.equal(r.status, 0, explain('upgrade, nothing new', r));
    assert.equal(JSON.parse(r.stdout).uptodate, true);

    // templates version N+1: one more Makefile line
    const v2 = path.join(base, 'templates-v2');
    fs.cpSync(TEMPLATES, v2, { recursive: true });
    const version = Number(fs.readFileSync(path.join(v2, 'VERSION'), 'utf8'));
    fs.writeFileSync(path.join(v2, 'VERSION'), `${version + 1}\n`);
    const mk = path.join(v2, 'langs', 'python', 'Makefile');
    fs.writeFileSync(mk, fs.readFileSync(mk, 'utf8') +
        '\n# added by template version 2\n');
    r = paved(['upgrade-service', dir, `--templates=${v2}`, '--json'],
        { dataDir });
    assert.equal(r.status, 0, explain('upgrade', r));
    const up = JSON.parse(r.stdout);
    assert.deepEqual([up.from, up.to, up.branch, up.conflicts],
        [version, version + 1, `paved/upgrade-${version + 1}`, []]);
    assert.match(up.commit, /^[0-9a-f]{40}$/);
    assert.equal(git(['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: dir }),
        up.branch);
    assert.match(fs.readFileSync(path.join(dir, 'Makefile'), 'utf8'),
        /# added by template version 2/);
    assert.match(fs.readFileSync(readme, 'utf8'), /#ledger-oncall/);
    assert.match(fs.readFileSync(path.join(dir, '.paved', 'answers.yaml'),
        'utf8'), new RegExp(`^template_version: ${version + 1}$`, 'm'));
    assert.equal(git(['status', '--porcelain'], { cwd: dir }), '');
    // the service still passes its guardrails and tests after the merge
    r = paved(['check', dir], { dataDir });
    assert.equal(r.status, 0, explain('check after upgrade', r));

    // both change the same line: markers, exit 1, merge left unfinished
    git(['checkout', '--quiet', 'main'], { cwd: dir });
    const mine = path.join(dir, 'Makefile');
    fs.writeFileSync(mine, fs.readFileSync(mine, 'utf8') +
        '\n# the team\'s own last line\n');
    commitAll('team makefile');
    const v3 = path.join(base, 'templates-v3');
    fs.cpSync(v2, v3, { recursive: true });
    fs.writeFileSync(path.join(v3, 'VERSION'), `${version + 2}\n`);
    git(['branch', '--quiet', '-D', up.branch], { cwd: dir });
    r = paved(['upgrade-service', dir, `--templates=${v3}`], { dataDir });
    assert.equal(r.status, 1, explain('conflicting upgrade', r));
    assert.match(r.stdout, /with conflicts in:\n {2}Makefile\n/);
    assert.match(r.stdout, /git merge --abort/);
    assert.match(fs.readFileSync(mine, 'utf8'),
        /<<<<<<< yours \(HEAD\)\n# the team's own last line\n=======\n# added by template version 2\n>>>>>>> templates/);
    // a second try while the merge is unfinished changes nothing
    r = paved(['upgrade-service', dir, `--templates=${v3}`], { dataDir });
    assert.equal(r.status, 1, explain('upgrade during a merge', r));
    assert.match(r.stderr, /a merge or rebase is in progress/);

    // not a paved service
    r = paved(['upgrade-service', base], { dataDir });
    assert.equal(r.status, 1, explain('not a repository', r));
    assert.match(r.stderr, /is not a git repository/);
});

// ------------------------------------------------------------- end to end

test('end to end: nine services pushed, the platform pipeline builds, '
    + 'tests and checks each', T, async (t) => {
    await scenario(t, async (ctx) => {
        // the platform pipeline's secrets, as an operator provides them
        for (const name of ['REGISTRY_TOKEN', 'DEPLOY_TOKEN'])
            fs.writeFileSync(path.join(ctx.secretsDir, name),
                `golden-${name.toLowerCase()}-value\n`);
        const d = await ctx.start({ PAVED_PIPELINES_DIR: PIPELINES,
            PAVED_MAX_RUNS: '2' });
        const services = [];
        for (const type of TYPES) {
            for (const lang of LANGS) {
                const name = `${type}-${lang}`;
                const full = `payments/${name}`;
                const bare = path.join(ctx.gitRoot, `${full}.git`);
                git(['init', '--quiet', '--bare', '--initial-branch', 'main',
                    bare]);
                const r = paved(['create-service', `--name=${name}`,
                    `--type=${type}`, `--lang=${lang}`, '--owner=payments',
                    `--remote=file://${bare}`], { dataDir: d.dataDir });
                assert.equal(r.status, 0, explain('create-service', r));
                const sha = git(['rev-parse', 'main'], { cwd: bare });
                services.push({ name, full, lang, bare, sha });
            }
        }
        // the catalog the daemon serves has all nine, with their repos
        const list = JSON.parse(paved(['services', '--json', '--url', d.url],
            { dataDir: d.dataDir }).stdout);
        for (const s of services)
            assert.ok(list.services.some((x) => x.name === s.name &&
                x.repo === s.full), `${s.name} not in the catalog`);

        for (const s of services) {
            const payload = pushPayload({ repo: s.full, ref: 'refs/heads/main',
                before: ZERO_SHA, after: s.sha, cloneUrl: `file://${s.bare}` });
            await deliver(d, 'push', payload);
        }
        for (const s of services) {
            const missing = toolchainMissing(s.lang);
            const [listed] = await waitRuns(d, { repo: s.full }, 1);
            const done = await waitDone(d, listed.id);
            const run = await getRun(d, done.id);
            assert.equal(run.sha, s.sha);
            assert.ok(run.steps.length > 0, `${s.name}: run ${run.id} is `
                + `${run.state}: ${run.reason}`);
            for (const step of ['build', 'test', 'guardrails']) {
                const st = stepOf(run, step);
                if (missing && step !== 'guardrails') {
                    t.diagnostic(`${s.name}: ${step} not judged: ${missing}`);
                    continue;
                }
                assert.equal(st.state, 'success', `${s.name}: step ${step} `
                    + `is ${st.state}: ${st.reason ?? ''}`);
            }
        }
    });
});
