// Starts the real paved daemon for one test: a fresh temporary data dir, a
// kernel-chosen port on 127.0.0.1, configuration only through PAVED_* env.
// Waits for the `msg=ready ... addr=HOST:PORT` line on stderr and hands back
// {url, dataDir, stop(), kill9(), restart()}. Never leaves a daemon running:
// every child is killed on stop, on test-process exit and on SIGINT/SIGTERM.
// It never reads the daemon's code or files other than its stderr/stdout
// and the SQLite file the contract names (<data_dir>/paved.db).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

const live = new Set();   // child processes still running
const tmpDirs = new Set(); // removed at exit unless something failed
let failed = false;

export function markFailed() {
    failed = true;
}

function killAllSync() {
    for (const child of live) {
        try {
            child.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
    live.clear();
}

process.on('exit', () => {
    killAllSync();
    if (failed || process.env.PAVED_INT_KEEP === '1') {
        if (tmpDirs.size > 0)
            process.stderr.write(`integration: kept ${[...tmpDirs].join(' ')}\n`);
        return;
    }
    for (const d of tmpDirs) {
        try {
            fs.rmSync(d, { recursive: true, force: true });
        } catch {
            // best effort
        }
    }
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        killAllSync();
        process.exit(128 + (os.constants.signals[sig] || 1));
    });
}

export function pavedBin() {
    const bin = process.env.PAVED_BIN;
    if (!bin)
        throw new Error('PAVED_BIN is not set (path to the paved binary)');
    return path.resolve(bin);
}

export function sharedDir() {
    if (process.env.PAVED_SHARED_DIR)
        return path.resolve(process.env.PAVED_SHARED_DIR);
    const here = path.dirname(new URL(import.meta.url).pathname);
    return path.resolve(here, '..', '..', '..', '..', 'shared');
}

// The parent's environment without any PAVED_* variable, so a developer's
// shell settings cannot leak into a test's configuration.
function baseEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith('PAVED_'))
            env[k] = v;
    }
    return env;
}

function waitExit(child, ms) {
    return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
            resolve({ code: child.exitCode, signal: child.signalCode });
            return;
        }
        let timer = null;
        const done = (code, signal) => {
            if (timer)
                clearTimeout(timer);
            resolve({ code, signal, timedOut: false });
        };
        child.once('exit', done);
        if (ms > 0) {
            timer = setTimeout(() => {
                child.removeListener('exit', done);
                resolve({ code: null, signal: null, timedOut: true });
            }, ms);
        }
    });
}

// Launches one process on the given data dir; resolves once the ready line
// has been seen. Rejects with the captured stderr on timeout or early exit.
function launch(state) {
    const stderrPath = path.join(state.tmp, `stderr.${state.generation}.log`);
    const stdoutPath = path.join(state.tmp, `stdout.${state.generation}.log`);
    const errFd = fs.openSync(stderrPath, 'a');
    const outFd = fs.openSync(stdoutPath, 'a');
    const env = {
        ...baseEnv(),
        PAVED_LISTEN: '127.0.0.1:0',
        PAVED_DATA_DIR: state.dataDir,
        ...state.env,
    };
    const child = spawn(pavedBin(), ['serve', ...state.args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    state.child = child;
    state.stderrPaths.push(stderrPath);

    let buf = '';
    child.stdout.on('data', (b) => fs.writeSync(outFd, b));
    child.stdout.on('end', () => fs.closeSync(outFd));

    return new Promise((resolve, reject) => {
        let settled = false;
        const fail = (why) => {
            if (settled)
                return;
            settled = true;
            clearTimeout(timer);
            try {
                child.kill('SIGKILL');
            } catch {
                // gone
            }
            markFailed();
            // give the pipe a moment to drain what it has
            setTimeout(() => {
                const err = fs.existsSync(stderrPath)
                    ? fs.readFileSync(stderrPath, 'utf8') : '';
                reject(new Error(`paved did not become ready: ${why}\n` +
                    `--- paved stderr (${stderrPath}) ---\n${err}`));
            }, 100);
        };
        const timer = setTimeout(
            () => fail(`no msg=ready line within ${READY_TIMEOUT_MS} ms`),
            READY_TIMEOUT_MS);
        child.stderr.on('data', (b) => {
            fs.writeSync(errFd, b);
            if (settled)
                return;
            buf += b.toString('utf8');
            const lines = buf.split('\n');
            buf = lines.pop();
            for (const line of lines) {
                if (!/\bmsg=ready\b/.test(line))
                    continue;
                const m = /\baddr=(\S+)/.exec(line);
                if (!m) {
                    fail(`ready line without addr=: ${line}`);
                    return;
                }
                settled = true;
                clearTimeout(timer);
                resolve(m[1]);
                return;
            }
        });
        child.stderr.on('end', () => fs.closeSync(errFd));
        child.once('error', (e) => fail(`spawn failed: ${e.message}`));
        child.once('exit', (code, signal) =>
            fail(`exited before ready (code=${code} signal=${signal})`));
    });
}

// opts: {env: {PAVED_...}, args: [...], dataDir: reuse an existing dir}
export async function startDaemon(opts = {}) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-int-'));
    tmpDirs.add(tmp);
    const dataDir = opts.dataDir ?? path.join(tmp, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const state = {
        tmp,
        dataDir,
        env: { ...(opts.env ?? {}) },
        args: opts.args ?? [],
        generation: 0,
        child: null,
        stderrPaths: [],
    };

    const handle = {
        url: null,
        addr: null,
        dataDir,
        tmp,
        env: state.env,
        dbPath: path.join(dataDir, 'paved.db'),
        get pid() {
            return state.child ? state.child.pid : null;
        },
        get running() {
            const c = state.child;
            return c !== null && c.exitCode === null && c.signalCode === null;
        },
        // Graceful: SIGTERM, wait; SIGKILL if it does not stop in time.
        async stop() {
            const c = state.child;
            if (!c || c.exitCode !== null || c.signalCode !== null)
                return c ? { code: c.exitCode, signal: c.signalCode } : null;
            c.kill('SIGTERM');
            let r = await waitExit(c, STOP_TIMEOUT_MS);
            if (r.timedOut) {
                c.kill('SIGKILL');
                r = await waitExit(c, 0);
                r.timedOut = true;
            }
            return r;
        },
        async kill9() {
            const c = state.child;
            if (!c || c.exitCode !== null || c.signalCode !== null)
                return null;
            c.kill('SIGKILL');
            return waitExit(c, 0);
        },
        // Stops (if still running) and starts again on the same data dir.
        async restart() {
            await handle.stop();
            state.generation += 1;
            const addr = await launch(state);
            handle.addr = addr;
            handle.url = `http://${addr}`;
            return handle;
        },
        // Everything the daemon wrote to stderr, over all its generations.
        stderr() {
            return state.stderrPaths
                .filter((p) => fs.existsSync(p))
                .map((p) => fs.readFileSync(p, 'utf8'))
                .join('');
        },
        stderrTail(n = 60) {
            const lines = handle.stderr().split('\n');
            return lines.slice(-n).join('\n');
        },
        // Everything on stdout (the daemon should write little or nothing).
        stdout() {
            return Array.from({ length: state.generation + 1 }, (_, i) =>
                path.join(state.tmp, `stdout.${i}.log`))
                .filter((p) => fs.existsSync(p))
                .map((p) => fs.readFileSync(p, 'utf8'))
                .join('');
        },
        // Configured secrets found in the daemon's output (should be none).
        leakedSecrets() {
            const all = handle.stderr() + handle.stdout();
            return handle.secrets().filter((s) => all.includes(s));
        },
        // Every configured secret-ish value, to check logs never carry one.
        secrets() {
            const out = [];
            for (const k of ['PAVED_GITHUB_SECRET', 'PAVED_GITEA_SECRET',
                'PAVED_GITLAB_TOKEN', 'PAVED_GITLAB_SIGNING_SECRET',
                'PAVED_API_TOKEN']) {
                const v = state.env[k];
                if (!v)
                    continue;
                for (const s of v.split(',')) {
                    const t = s.trim();
                    if (t.length === 0)
                        continue;
                    out.push(t);
                    if (t.startsWith('whsec_'))
                        out.push(t.slice('whsec_'.length));
                }
            }
            return out;
        },
    };
    const addr = await launch(state);
    handle.addr = addr;
    handle.url = `http://${addr}`;
    return handle;
}

// Runs fn; on failure appends the daemon's stderr tail to the error so the
// test report shows what the server said.
export async function withStderr(d, fn) {
    try {
        return await fn();
    } catch (e) {
        markFailed();
        const tail = d ? d.stderrTail() : '';
        if (e && typeof e === 'object' && 'message' in e) {
            try {
                e.message += `\n--- paved stderr tail (${d?.tmp}) ---\n${tail}`;
            } catch {
                // read-only message
            }
        }
        throw e;
    }
}

// For after() hooks: graceful stop must exit 0 and the output must not hold
// any configured secret. Failures here fail the file's suite.
export async function stopAndCheck(d) {
    if (!d)
        return;
    const r = await d.stop();
    const leaked = d.leakedSecrets();
    if (leaked.length > 0) {
        markFailed();
        throw new Error(`paved output contains configured secret(s) ` +
            `${JSON.stringify(leaked)}; see ${d.tmp}`);
    }
    if (r && (r.code !== 0 || r.timedOut)) {
        markFailed();
        throw new Error(`paved did not stop cleanly on SIGTERM: ` +
            `${JSON.stringify(r)}\n--- stderr tail ---\n${d.stderrTail()}`);
    }
}
