// Real git repositories for the run tests: a bare repository per
// owner/name under a root directory (so `file://<root>/{repo}.git` and
// `git daemon --base-path=<root>` serve the same thing), a work clone to
// commit in, SHAs from `git rev-parse`, and a `git daemon` on 127.0.0.1 at a
// port chosen at run time. Every git daemon started here is killed (its
// whole process group) on stop, on test-process exit and on SIGINT/SIGTERM.
// It never touches a repository outside the root it was given and never
// reads the user's or the system's git configuration.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ZERO_SHA = '0'.repeat(40);

// git with a fixed identity and no global/system config, so a developer's
// hooks, signing or default branch cannot change what the tests see.
function gitEnv() {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith('GIT_') && !k.startsWith('PAVED_'))
            env[k] = v;
    }
    return {
        ...env,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'Int Tester',
        GIT_AUTHOR_EMAIL: 'int@example.invalid',
        GIT_COMMITTER_NAME: 'Int Tester',
        GIT_COMMITTER_EMAIL: 'int@example.invalid',
    };
}

// Runs git; returns stdout without the trailing newline. Throws with git's
// stderr on failure.
export function git(args, { cwd } = {}) {
    try {
        return execFileSync('git', args, {
            cwd, env: gitEnv(), encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000,
        }).replace(/\n$/, '');
    } catch (e) {
        throw new Error(`git ${args.join(' ')} (in ${cwd ?? process.cwd()}) ` +
            `failed: ${e.stderr || e.message}`);
    }
}

// A bare repository <root>/<owner>/<name>.git and a work clone to commit
// in. The first commit (README) is pushed to `main`.
export function createRepo(root, fullName, { branch = 'main' } = {}) {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(fullName))
        throw new Error(`createRepo: "${fullName}" is not owner/name`);
    const bare = path.join(root, `${fullName}.git`);
    const work = path.join(root, '.work', fullName);
    fs.mkdirSync(path.dirname(bare), { recursive: true });
    fs.mkdirSync(work, { recursive: true });
    git(['init', '--quiet', '--bare', '--initial-branch', branch, bare]);
    git(['init', '--quiet', '--initial-branch', branch, work]);
    git(['remote', 'add', 'origin', bare], { cwd: work });

    const repo = {
        fullName,
        bare,
        work,
        branch,
        fileUrl: `file://${bare}`,
        // Writes files (null deletes one), commits everything (an empty
        // commit when nothing changed) and returns the new SHA.
        commit(files = {}, message = 'change') {
            for (const [name, content] of Object.entries(files)) {
                const p = path.join(work, name);
                if (content === null) {
                    fs.rmSync(p, { force: true });
                    continue;
                }
                fs.mkdirSync(path.dirname(p), { recursive: true });
                fs.writeFileSync(p, content);
            }
            git(['add', '--all'], { cwd: work });
            git(['commit', '--quiet', '--allow-empty', '-m', message],
                { cwd: work });
            return repo.head();
        },
        head() {
            return git(['rev-parse', 'HEAD'], { cwd: work });
        },
        revParse(rev) {
            return git(['rev-parse', rev], { cwd: work });
        },
        // The SHA a ref has in the bare repository now, or ZERO_SHA.
        remoteRef(ref) {
            try {
                return git(['rev-parse', '--verify', '--quiet', ref],
                    { cwd: bare });
            } catch {
                return ZERO_SHA;
            }
        },
        // Force-pushes sha (default: HEAD) to ref (a full ref name such as
        // refs/heads/main) and returns {ref, before, after} as a forge's
        // push payload would carry them.
        push(ref = `refs/heads/${branch}`, sha = repo.head()) {
            if (!ref.startsWith('refs/'))
                throw new Error(`push: "${ref}" is not a full ref name`);
            const before = repo.remoteRef(ref);
            git(['push', '--quiet', '--force', 'origin', `${sha}:${ref}`],
                { cwd: work });
            const after = repo.remoteRef(ref);
            if (after !== sha)
                throw new Error(`push: ${ref} is ${after}, want ${sha}`);
            return { ref, before, after };
        },
        // A lightweight tag on sha (default HEAD), pushed.
        tag(name, sha = repo.head()) {
            git(['tag', '--force', name, sha], { cwd: work });
            return repo.push(`refs/tags/${name}`, sha);
        },
        // Moves the work clone to a (new) local branch at sha.
        checkoutBranch(name, sha = repo.head()) {
            git(['checkout', '--quiet', '-B', name, sha], { cwd: work });
        },
    };
    repo.commit({ 'README.md': `# ${fullName}\n` }, 'initial commit');
    repo.push();
    return repo;
}

// A port that was free a moment ago (the kernel picked it for us).
export function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

// Resolves true once something accepts TCP on 127.0.0.1:port.
function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port });
        const done = (ok) => {
            s.removeAllListeners();
            s.destroy();
            resolve(ok);
        };
        s.setTimeout(1000, () => done(false));
        s.once('connect', () => done(true));
        s.once('error', () => done(false));
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const liveDaemons = new Set(); // git daemon process-group ids

function killGroup(pgid, sig = 'SIGKILL') {
    try {
        process.kill(-pgid, sig);
    } catch {
        // already gone
    }
}

process.on('exit', () => {
    for (const pgid of liveDaemons)
        killGroup(pgid);
    liveDaemons.clear();
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        for (const pgid of liveDaemons)
            killGroup(pgid);
        liveDaemons.clear();
        process.exit(128 + (os.constants.signals[sig] || 1));
    });
}

// `git daemon` serving every repository under baseDir read-only on
// 127.0.0.1. Returns {port, url, template, urlOf(fullName), stop()}.
// It runs in its own process group (it forks one upload-pack per
// connection), and stop() kills that whole group.
export async function startGitDaemon(baseDir, { logPath } = {}) {
    let lastErr = '';
    for (let attempt = 0; attempt < 5; attempt++) {
        const port = await freePort();
        const errFd = logPath ? fs.openSync(logPath, 'a') : 'ignore';
        const child = spawn('git', ['daemon', '--reuseaddr', '--export-all',
            '--informative-errors', `--base-path=${baseDir}`,
            '--listen=127.0.0.1', `--port=${port}`, baseDir], {
            env: gitEnv(),
            detached: true,
            stdio: ['ignore', 'ignore', errFd],
        });
        if (typeof errFd === 'number')
            fs.closeSync(errFd);
        liveDaemons.add(child.pid);
        let exited = false;
        child.once('exit', () => {
            exited = true;
        });
        child.once('error', (e) => {
            exited = true;
            lastErr = e.message;
        });
        const t0 = Date.now();
        let up = false;
        while (!exited && Date.now() - t0 < 10_000) {
            if (await canConnect(port)) {
                up = true;
                break;
            }
            await sleep(50);
        }
        if (up && !exited) {
            const pgid = child.pid;
            const stop = async () => {
                if (!liveDaemons.has(pgid))
                    return;
                liveDaemons.delete(pgid);
                killGroup(pgid, 'SIGTERM');
                const t1 = Date.now();
                while (!exited && Date.now() - t1 < 3000)
                    await sleep(20);
                killGroup(pgid, 'SIGKILL');
            };
            return {
                port,
                url: `git://127.0.0.1:${port}`,
                template: `git://127.0.0.1:${port}/{repo}.git`,
                urlOf: (fullName) => `git://127.0.0.1:${port}/${fullName}.git`,
                stop,
            };
        }
        liveDaemons.delete(child.pid);
        killGroup(child.pid);
        lastErr = lastErr || `git daemon on port ${port} ` +
            (exited ? 'exited early' : 'did not accept within 10 s');
    }
    throw new Error(`could not start git daemon: ${lastErr}`);
}
