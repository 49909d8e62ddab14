// Helpers for the pipeline-run tests (runs*.test.js): a scenario that owns
// one paved daemon, its pipelines dir, a git root and an OUT dir for what
// steps write; GitHub push/tag/pull_request payloads built from the
// fixtures in tests/fixtures/github with the fields of a real repository
// patched in; signed delivery; polling of /api/v1/runs until a state is
// reached (generous deadlines, never an assertion about speed); the CLI.
// It never sleeps a fixed time to "let something happen": it polls for
// the observable result.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markFailed, pavedBin, startDaemon, stopAndCheck } from './daemon.js';
import { createRepo, startGitDaemon } from './git.js';
import { postGithub, request, sleep, uuid } from './http.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
const fixtureDir = path.join(repoRoot, 'tests', 'fixtures', 'github');

export const SECRET = 'int-runs-webhook-secret-7a1c';
export const FINISHED = ['success', 'failure', 'cancelled', 'error'];
export const RFC3339 =
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
export const WAIT_MS = 90_000; // how long any one state may take to appear

export function fixture(name) {
    return JSON.parse(fs.readFileSync(path.join(fixtureDir, name), 'utf8'));
}

// ---------------------------------------------------------------- payloads

function patchRepository(r, fullName, cloneUrl) {
    const [owner, name] = fullName.split('/');
    r.full_name = fullName;
    r.name = name;
    if (r.owner) {
        r.owner.login = owner;
        if ('name' in r.owner)
            r.owner.name = owner;
    }
    r.clone_url = cloneUrl;
    r.git_url = cloneUrl;
    r.ssh_url = cloneUrl;
    r.html_url = `https://github.invalid/${fullName}`;
    r.url = r.html_url;
}

// A GitHub push (branch or tag) of a real commit. ref is a full ref name.
export function pushPayload({ repo, ref, before, after, cloneUrl,
    actor = 'int-pusher', message = 'change' }) {
    const isTag = ref.startsWith('refs/tags/');
    const p = fixture(isTag ? 'push-tag.json' : 'push.json');
    const zero = /^0{40}$/.test(before);
    p.ref = ref;
    p.before = before;
    p.after = after;
    p.created = zero;
    p.deleted = false;
    p.forced = false;
    p.base_ref = null;
    p.compare = `https://github.invalid/${repo}/compare/${before}...${after}`;
    const commit = {
        id: after,
        tree_id: after,
        distinct: true,
        message,
        timestamp: new Date().toISOString(),
        url: `https://github.invalid/${repo}/commit/${after}`,
        author: { name: actor, email: `${actor}@example.invalid`,
            username: actor },
        committer: { name: actor, email: `${actor}@example.invalid`,
            username: actor },
        added: [], removed: [], modified: [],
    };
    p.commits = isTag ? [] : [commit];
    p.head_commit = commit;
    patchRepository(p.repository, repo, cloneUrl);
    p.pusher = { name: actor, email: `${actor}@example.invalid` };
    p.sender.login = actor;
    return p;
}

// A GitHub pull_request event whose head is a real commit.
export function prPayload({ repo, number = 7, action = 'opened',
    title = 'A change', headRef, headSha, baseRef = 'main', baseSha,
    cloneUrl, actor = 'int-author' }) {
    const p = fixture('pull_request-opened.json');
    p.action = action;
    p.number = number;
    const pr = p.pull_request;
    pr.number = number;
    pr.title = title;
    pr.state = 'open';
    pr.user.login = actor;
    const [owner] = repo.split('/');
    pr.head.ref = headRef;
    pr.head.sha = headSha;
    pr.head.label = `${owner}:${headRef}`;
    pr.head.user.login = owner;
    patchRepository(pr.head.repo, repo, cloneUrl);
    pr.base.ref = baseRef;
    pr.base.sha = baseSha;
    pr.base.label = `${owner}:${baseRef}`;
    pr.base.user.login = owner;
    patchRepository(pr.base.repo, repo, cloneUrl);
    patchRepository(p.repository, repo, cloneUrl);
    p.sender.login = actor;
    return p;
}

// Posts a signed delivery; asserts 202 queued; returns the delivery id.
export async function deliver(d, event, payload, delivery = uuid()) {
    const body = JSON.stringify(payload);
    const r = await postGithub(d, { secret: SECRET, event, body, delivery });
    assert.equal(r.status, 202, `POST /hooks/github ${event}: ${r.status} ` +
        `${r.text}`);
    assert.equal(r.json?.status, 'queued', `${event} delivery: ${r.text}`);
    return delivery;
}

// Pushes sha to ref of repo and delivers the matching push webhook.
export async function pushAndDeliver(ctx, repo, ref, sha = repo.head(),
    opts = {}) {
    const { before, after } = repo.push(ref, sha);
    const payload = pushPayload({ repo: repo.fullName, ref, before, after,
        cloneUrl: opts.cloneUrl ?? repo.fileUrl, actor: opts.actor });
    const delivery = await deliver(ctx.d, 'push', payload, opts.delivery);
    return { delivery, sha: after, before, ref, payload };
}

// ---------------------------------------------------------------- polling

// Polls fn until it returns a truthy value; on timeout throws with what
// describe() says about the last observation.
export async function waitFor(what, fn, { timeoutMs = WAIT_MS,
    intervalMs = 100, describe } = {}) {
    const t0 = Date.now();
    let last;
    for (;;) {
        last = await fn();
        if (last)
            return last;
        if (Date.now() - t0 > timeoutMs) {
            let extra = '';
            if (describe) {
                try {
                    extra = `\nlast seen: ${await describe()}`;
                } catch (e) {
                    extra = `\n(describe failed: ${e.message})`;
                }
            }
            throw new Error(`timed out after ${timeoutMs} ms waiting for ` +
                `${what}${extra}`);
        }
        await sleep(intervalMs);
    }
}

export async function apiJson(d, p, { method = 'GET', want = 200 } = {}) {
    const r = await request(`${d.url}${p}`, { method });
    if (want !== null)
        assert.equal(r.status, want, `${method} ${p}: ${r.status} ${r.text}`);
    return r;
}

// GET /api/v1/runs with filters {repo, sha, state}; returns the array.
export async function listRuns(d, filters = {}) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) {
        if (v !== undefined && v !== null)
            q.set(k, v);
    }
    const qs = q.toString();
    const r = await apiJson(d, `/api/v1/runs${qs ? `?${qs}` : ''}`);
    assert.ok(r.json && Array.isArray(r.json.runs),
        `GET /api/v1/runs: no "runs" array: ${r.text}`);
    return r.json.runs;
}

export async function getRun(d, id) {
    const r = await apiJson(d, `/api/v1/runs/${id}`);
    assert.ok(r.json && r.json.id === id, `GET /api/v1/runs/${id}: ${r.text}`);
    assert.ok(Array.isArray(r.json.steps), `run ${id} has no steps array: ` +
        r.text);
    return r.json;
}

export function stepOf(run, name) {
    const s = run.steps.find((x) => x.name === name);
    assert.ok(s, `run ${run.id} has no step "${name}": ` +
        JSON.stringify(run.steps.map((x) => x.name)));
    return s;
}

function brief(run) {
    if (!run)
        return 'none';
    const steps = (run.steps ?? []).map((s) => `${s.name}=${s.state}` +
        `${s.reason ? `(${s.reason})` : ''}`).join(' ');
    return `run ${run.id} ${run.pipeline} state=${run.state}` +
        `${run.reason ? ` reason=${JSON.stringify(run.reason)}` : ''}` +
        `${steps ? ` steps: ${steps}` : ''}`;
}

// Waits until `n` runs match filters (and pred, if given); returns them.
export async function waitRuns(d, filters, n, pred = () => true) {
    let seen = [];
    await waitFor(`${n} run(s) for ${JSON.stringify(filters)}`, async () => {
        seen = (await listRuns(d, filters)).filter(pred);
        return seen.length >= n;
    }, { describe: async () => JSON.stringify(await listRuns(d, {})) });
    return seen;
}

export async function waitState(d, id, states) {
    const want = Array.isArray(states) ? states : [states];
    let run;
    await waitFor(`run ${id} in state ${want.join('|')}`, async () => {
        run = await getRun(d, id);
        return want.includes(run.state);
    }, { describe: async () => brief(await getRun(d, id)) });
    return run;
}

export const waitDone = (d, id) => waitState(d, id, FINISHED);

export async function waitStep(d, id, step, states) {
    const want = Array.isArray(states) ? states : [states];
    let run;
    await waitFor(`step ${step} of run ${id} in state ${want.join('|')}`,
        async () => {
            run = await getRun(d, id);
            const s = run.steps.find((x) => x.name === step);
            return s && want.includes(s.state);
        }, { describe: async () => brief(await getRun(d, id)) });
    return run;
}

// Asserts a finished run ended in `state`, showing its log otherwise.
export async function assertRunState(d, run, state) {
    if (run.state !== state) {
        const log = (await request(`${d.url}/api/v1/runs/${run.id}/log`)).text;
        assert.fail(`run ${run.id} ended ${run.state}, want ${state}: ` +
            `${brief(run)}\n--- run log ---\n${log}`);
    }
}

export async function runLog(d, id, { step, offset } = {}) {
    const q = new URLSearchParams();
    if (step !== undefined)
        q.set('step', step);
    if (offset !== undefined)
        q.set('offset', String(offset));
    const qs = q.toString();
    const r = await request(`${d.url}/api/v1/runs/${id}/log${qs ? `?${qs}`
        : ''}`);
    assert.equal(r.status, 200, `GET run ${id} log: ${r.status} ${r.text}`);
    assert.match(String(r.headers['content-type']), /^text\/plain/,
        'the run log is text/plain');
    return r.text;
}

// The text of a step's log lines ("<time> out|err <text>" -> text), after
// checking every line has that shape.
export function logTexts(log, stream = null) {
    const out = [];
    for (const line of log.split('\n')) {
        if (line === '' || line.startsWith('==> '))
            continue;
        const m = /^(\S+) (out|err|paved) (.*)$/.exec(line);
        assert.ok(m, `log line not "<time> out|err|paved <text>": ` +
            JSON.stringify(line));
        assert.match(m[1], RFC3339, `log line time: ${JSON.stringify(line)}`);
        if (stream === null || m[2] === stream)
            out.push(m[3]);
    }
    return out;
}

// The delivery document; planned when the scheduler has dealt with it.
export async function waitPlanned(d, delivery) {
    let doc;
    await waitFor(`delivery ${delivery} planned`, async () => {
        const r = await request(`${d.url}/api/v1/deliveries/` +
            encodeURIComponent(delivery));
        assert.equal(r.status, 200, `GET delivery ${delivery}: ${r.text}`);
        doc = r.json;
        return doc.planned === true;
    }, { describe: async () => JSON.stringify(doc) });
    return doc;
}

// Runs of one delivery (the API filter is repo/sha/state; the delivery
// is a field of each run).
export async function runsOfDelivery(d, delivery) {
    return (await listRuns(d, {})).filter((r) => r.delivery === delivery);
}

// ---------------------------------------------------------------- CLI

export function cli(d, args, { timeoutMs = 30_000 } = {}) {
    const r = spawnSync(pavedBin(), [...args, '--url', d.url], {
        encoding: 'utf8', timeout: timeoutMs,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/' },
    });
    return { status: r.status, signal: r.signal, stdout: r.stdout,
        stderr: r.stderr, error: r.error };
}

export function cliJson(d, args) {
    const r = cli(d, [...args, '--json']);
    assert.equal(r.status, 0, `paved ${args.join(' ')} --json: exit ` +
        `${r.status}\n${r.stderr}`);
    try {
        return JSON.parse(r.stdout);
    } catch (e) {
        assert.fail(`paved ${args.join(' ')} --json printed no JSON: ` +
            `${e.message}\n${r.stdout}`);
    }
    return undefined;
}

// Starts `paved ...` in the background; {child, out(), err(), exited}.
export function cliSpawn(d, args) {
    const child = spawn(pavedBin(), [...args, '--url', d.url], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => {
        out += b.toString('utf8');
    });
    child.stderr.on('data', (b) => {
        err += b.toString('utf8');
    });
    const exited = new Promise((resolve) => child.once('exit',
        (code, signal) => resolve({ code, signal })));
    return { child, out: () => out, err: () => err, exited };
}

// ---------------------------------------------------------------- processes

// A pid is alive when /proc/<pid> exists, is not a zombie, and (when
// `match` is given) its command line contains match (so a reused pid is
// not mistaken for ours).
export function pidAlive(pid, match) {
    let stat;
    try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
        return false;
    }
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')')
        + 3);
    if (state === 'Z' || state === 'X')
        return false;
    if (match) {
        let cmd = '';
        try {
            cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
                .replace(/\0/g, ' ');
        } catch {
            return false;
        }
        return cmd.includes(match);
    }
    return true;
}

export function readPid(file) {
    const t = fs.readFileSync(file, 'utf8').trim();
    const pid = Number(t);
    assert.ok(Number.isInteger(pid) && pid > 1, `${file} holds no pid: ${t}`);
    return pid;
}

// ---------------------------------------------------------------- scenario

const SLEEP_MARK = 'sleep';

// One test's world: `ctx.tmp` (kept when the test fails or with
// PAVED_INT_KEEP=1), `ctx.gitRoot` with repositories, `ctx.out` for what
// steps write, `ctx.pipelines` (YAML files written by the caller before
// start()), and after start(): `ctx.d` (the daemon). Cleanup stops the
// daemon (graceful stop must exit 0; no configured secret in its output),
// the git daemon, and kills any pid recorded with ctx.trackPid that is
// still running.
export async function scenario(t, fn) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-runs-'));
    const ctx = {
        t,
        tmp,
        gitRoot: path.join(tmp, 'git'),
        out: path.join(tmp, 'out'),
        pipelinesDir: path.join(tmp, 'pipelines'),
        secretsDir: path.join(tmp, 'secrets'),
        d: null,
        gitd: null,
        pids: new Set(),
        repo(fullName) {
            return createRepo(ctx.gitRoot, fullName);
        },
        // file name -> YAML text (written before start)
        pipeline(file, yaml) {
            fs.writeFileSync(path.join(ctx.pipelinesDir, file), yaml);
        },
        fileTemplate() {
            return `file://${ctx.gitRoot}/{repo}.git`;
        },
        async gitDaemon() {
            ctx.gitd = await startGitDaemon(ctx.gitRoot,
                { logPath: path.join(tmp, 'git-daemon.log') });
            return ctx.gitd;
        },
        // env: extra PAVED_* (and others) for the daemon
        async start(extra = {}) {
            const env = {};
            for (const [k, v] of Object.entries(extra)) {
                if (v !== undefined)
                    env[k] = v;
            }
            const unset = Object.keys(extra).filter((k) =>
                extra[k] === undefined);
            const base = {
                PAVED_GITHUB_SECRET: SECRET,
                PAVED_PIPELINES_DIR: ctx.pipelinesDir,
                PAVED_CLONE_URL_TEMPLATE: ctx.fileTemplate(),
                PAVED_MAX_RUNS: '4',
                PAVED_STEP_KILL_GRACE: '1s',
                PAVED_RETRY_BACKOFF: '1s',
                PAVED_SECRETS_DIR: ctx.secretsDir,
            };
            for (const k of unset)
                delete base[k];
            ctx.d = await startDaemon({
                env: { ...base, ...env },
            });
            return ctx.d;
        },
        trackPid(pid) {
            ctx.pids.add(pid);
        },
    };
    for (const dir of [ctx.gitRoot, ctx.out, ctx.pipelinesDir,
        ctx.secretsDir])
        fs.mkdirSync(dir, { recursive: true });

    let ok = false;
    try {
        await fn(ctx);
        ok = true;
    } catch (e) {
        markFailed();
        if (e && typeof e === 'object' && 'message' in e) {
            try {
                e.message += `\n--- test dir ${tmp}` +
                    (ctx.d ? `\n--- paved stderr (no request lines), ` +
                        `tail ---\n${ctx.d.stderr().split('\n')
                            .filter((l) => !/\bmsg=request\b/.test(l))
                            .slice(-40).join('\n')}` : '');
            } catch {
                // read-only message
            }
        }
        throw e;
    } finally {
        let stopErr = null;
        if (ctx.d) {
            try {
                await stopAndCheck(ctx.d);
            } catch (e) {
                stopErr = e;
            }
        }
        if (ctx.gitd)
            await ctx.gitd.stop();
        for (const pid of ctx.pids) {
            if (pidAlive(pid, SLEEP_MARK)) {
                try {
                    process.kill(pid, 'SIGKILL');
                } catch {
                    // gone meanwhile
                }
            }
        }
        if (ok && stopErr === null && process.env.PAVED_INT_KEEP !== '1')
            fs.rmSync(tmp, { recursive: true, force: true });
        else
            process.stderr.write(`runs: kept ${tmp}\n`);
        if (ok && stopErr !== null)
            throw stopErr; // eslint-disable-line no-unsafe-finally
    }
}

// Every file under dir (recursively), for leak scans.
export function walkFiles(dir) {
    const out = [];
    const stack = [dir];
    while (stack.length > 0) {
        const d = stack.pop();
        let ents = [];
        try {
            ents = fs.readdirSync(d, { withFileTypes: true });
        } catch {
            continue;
        }
        for (const e of ents) {
            const p = path.join(d, e.name);
            if (e.isDirectory())
                stack.push(p);
            else if (e.isFile())
                out.push(p);
        }
    }
    return out;
}

// Parses `env -0` output.
export function parseEnv0(buf) {
    const env = {};
    for (const item of buf.toString('utf8').split('\0')) {
        if (item === '')
            continue;
        const i = item.indexOf('=');
        env[item.slice(0, i)] = item.slice(i + 1);
    }
    return env;
}

// YAML double-quoted scalar of a string (JSON's escaping is valid YAML).
export const yq = (s) => JSON.stringify(s);
