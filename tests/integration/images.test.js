// [delivery] Issue 7: artifacts as the built-in steps build-image and
// push-image make them, through the operator's faces `paved image build`,
// `paved image push` and `paved artifact dir` (the real binary, PAVED_BIN).
// A REAL registry: Debian's docker-registry started by scripts/registry-local
// on a 127.0.0.1 port chosen at run time, with its own storage. A static C
// program compiled here (gcc -static) is built into a FROM scratch image with
// podman, pushed, and found in the registry under the digest paved printed
// (Docker-Content-Digest of the manifest); the pushed image runs with the
// containers.conf paved wrote (runc, ulimits); the same with buildah; the vfs
// storage driver with its own root; a push to a dead registry fails with the
// tool's words. Without podman on PATH both commands fail with what to
// install. Directory artifacts: the printed path and digest, the same digest
// for a copy with other mtimes, `make -q` up to date in the copy, an escaping
// symlink refused. registry-local refuses any address but loopback and
// listens on nothing else. The image tests are skipped, with the reason,
// only when podman or docker-registry is not installed. Build times are
// printed as diagnostics, never asserted.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { markFailed, pavedBin, startDaemon } from './lib/daemon.js';
import { createRepo } from './lib/git.js';
import { sql } from './lib/http.js';
import { SECRET, deliver, pushPayload, waitDone, waitRuns } from './lib/runs.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const REGISTRY_LOCAL = path.resolve(here, '..', '..', 'scripts', 'registry-local');
const WAIT_BOUND_MS = 30_000; // only so that a broken setup cannot hang
const MANIFEST_ACCEPT = [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'paved-images-'));
const dataDir = path.join(tmp, 'data');
let registry; // the docker-registry child
let regPort;
let regLog = '';
const images = []; // local image names to remove at the end

function onPath(tool) {
    for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':')) {
        try {
            const p = path.join(dir || '.', tool);
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile())
                return p;
        } catch {
            // not here
        }
    }
    return null;
}

const missing = ['podman', 'buildah', 'docker-registry'].filter((t) => !onPath(t));
const skipImages = missing.includes('podman') || missing.includes('docker-registry')
    ? `not installed: ${missing.join(', ')} (scripts/deps.sh test)` : false;
const skipBuildah = skipImages || (missing.includes('buildah')
    ? 'buildah is not installed (scripts/deps.sh test)' : false);

// The environment every command gets: the caller's, without a
// CONTAINERS_CONF of its own, and paved's data dir here.
function baseEnv(extra = {}) {
    const env = { ...process.env };
    delete env.CONTAINERS_CONF;
    for (const k of Object.keys(env))
        if (k.startsWith('PAVED_IMAGE_') || k === 'PAVED_CONTAINERS_CONF')
            delete env[k];
    return { ...env, PAVED_DATA_DIR: dataDir, ...extra };
}

function run(file, args, { env = baseEnv(), timeout = 180_000 } = {}) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        execFile(file, args, { env, timeout, maxBuffer: 16 << 20 },
            (err, stdout, stderr) => {
                const code = err ? (typeof err.code === 'number' ? err.code : -1)
                    : 0;
                resolve({ code, stdout, stderr, ms: Date.now() - t0 });
            });
    });
}

const paved = (args, opts) => run(pavedBin(), args, opts);

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

function killRegistry() {
    if (registry && registry.exitCode === null && registry.signalCode === null) {
        try {
            registry.kill('SIGKILL');
        } catch {
            // already gone
        }
    }
}
process.on('exit', killRegistry);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
        killRegistry();
        process.exit(128 + (os.constants.signals[sig] || 1));
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitRegistry(url) {
    const deadline = Date.now() + WAIT_BOUND_MS;
    for (;;) {
        if (registry.exitCode !== null || registry.signalCode !== null)
            throw new Error(`docker-registry exited:\n${regLog}`);
        try {
            const r = await fetch(url);
            if (r.status === 200)
                return;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline)
            throw new Error(`docker-registry not ready after ${WAIT_BOUND_MS} ms:\n${regLog}`);
        await sleep(100);
    }
}

// Listening TCP sockets on a port, as "addr:port" in hex from /proc/net/tcp*
function listeners(port) {
    const out = [];
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try {
            text = fs.readFileSync(f, 'utf8');
        } catch {
            continue;
        }
        for (const line of text.split('\n').slice(1)) {
            const cols = line.trim().split(/\s+/);
            if (cols.length > 3 && cols[3] === '0A' && cols[1].endsWith(`:${hexPort}`))
                out.push(cols[1]);
        }
    }
    return out;
}

// Our images by ID, with the intermediate images of their builds (podman
// keeps one per step for its cache), children first: removing the names
// alone leaves them behind, held by the digests the push and run added.
async function removeImages(names) {
    const ids = [];
    const inspect = async (ref) => {
        const r = await run('podman', ['image', 'inspect', '--format',
            '{{.Id}} {{.Parent}}', ref], { timeout: 60_000 });
        return r.code === 0 ? r.stdout.trim().split(/\s+/) : [];
    };
    for (const name of names) {
        let [id, parent] = await inspect(name);
        while (id && !ids.includes(id)) {
            ids.push(id);
            [id, parent] = parent ? await inspect(parent) : [];
        }
    }
    if (ids.length > 0)
        await run('podman', ['rmi', '-f', ...ids], { timeout: 60_000 });
}

after(async () => {
    if (registry && registry.exitCode === null) {
        const exited = new Promise((r) => registry.once('exit', r));
        registry.kill('SIGTERM');
        const t = setTimeout(killRegistry, 10_000);
        await exited;
        clearTimeout(t);
    }
    if (!skipImages && images.length > 0)
        await removeImages(images);
    if (process.env.PAVED_INT_KEEP !== '1')
        fs.rmSync(tmp, { recursive: true, force: true });
    else
        process.stderr.write(`images: kept ${tmp}\n`);
});

// ---- without any container tool ----------------------------------------

test('registry-local refuses every address but loopback', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    for (const listen of ['0.0.0.0:5000', ':5000', '10.1.2.3:5000', '[::]:5000',
        '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.300:5000',
        'example.com:5000']) {
        const dir = path.join(tmp, 'refused');
        const r = await run(REGISTRY_LOCAL, [dir, listen]);
        assert.equal(r.code, 2, `${listen}: ${r.stderr}`);
        assert.match(r.stderr, /registry-local: /);
        assert.equal(fs.existsSync(path.join(dir, 'config.yml')), false, listen);
    }
    const r = await run(REGISTRY_LOCAL, [path.join(tmp, 'x')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: /);
});

test('no podman or buildah on PATH: the commands say what to install', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    const empty = path.join(tmp, 'empty-bin');
    fs.mkdirSync(empty, { recursive: true });
    const ctx = path.join(tmp, 'ctx-missing');
    fs.mkdirSync(ctx, { recursive: true });
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
    const env = baseEnv({ PATH: empty });

    let r = await paved(['image', 'build', '--context', ctx, '--tag',
        '127.0.0.1:1/paved-it/none:v1'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr,
        'paved image build: podman not found: install podman (scripts/deps.sh test)\n');

    r = await paved(['image', 'push', '--tag', '127.0.0.1:1/paved-it/none:v1',
        '--tls-verify=false'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr,
        'paved image push: podman not found: install podman (scripts/deps.sh test)\n');

    r = await paved(['image', 'build', '--tool', 'buildah', '--context', ctx,
        '--tag', 'localhost/paved-it/none'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr,
        'paved image build: buildah not found: install buildah (scripts/deps.sh test)\n');

    // usage errors come first and exit 2
    for (const args of [
        ['image', 'build', '--tag', 'localhost/x'],
        ['image', 'build', '--context', ctx, '--tag', 'Bad Name'],
        ['image', 'push', '--tag', 'no-registry:v1'],
        ['image', 'push', '--tag', 'localhost/x', '--tls-verify=maybe'],
        ['image', 'frobnicate'],
        ['artifact', 'dir'],
    ]) {
        r = await paved(args, { env });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
});

test('artifact dir: content-addressed, mtimes kept, escaping links refused', async (t) => {
    t.after(() => { if (t.failed) markFailed(); });
    const src = path.join(tmp, 'svc');
    const art = path.join(tmp, 'artifacts');
    fs.mkdirSync(path.join(src, '.git'), { recursive: true });
    fs.writeFileSync(path.join(src, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(src, 'app.c'),
        '#include <stdio.h>\nint main(void) { puts("v1"); return 0; }\n');
    fs.writeFileSync(path.join(src, 'Makefile'),
        'app: app.c\n\tcc -o app app.c\nrun: app\n\t./app\n');
    fs.symlinkSync('app', path.join(src, 'current'));
    let r = await run('make', ['-C', src, 'app']);
    assert.equal(r.code, 0, r.stderr);

    r = await paved(['artifact', 'dir', src, '--into', art]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^(\S+) (sha256:[0-9a-f]{64})\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [, dir, digest] = m;
    assert.equal(dir, path.join(fs.realpathSync(art), `sha256-${digest.slice(7)}`));
    assert.equal(fs.existsSync(path.join(dir, '.git')), false);
    assert.equal(fs.readlinkSync(path.join(dir, 'current')), 'app');
    assert.equal(fs.statSync(path.join(dir, 'app')).mode & 0o777,
        fs.statSync(path.join(src, 'app')).mode & 0o777);
    assert.equal(fs.statSync(path.join(dir, 'app')).mtimeMs,
        fs.statSync(path.join(src, 'app')).mtimeMs);
    // what the local driver's `make run` will find: nothing to rebuild
    r = await run('make', ['-q', '-C', dir, 'app']);
    assert.equal(r.code, 0, `make -q in the copy: ${r.stdout}${r.stderr}`);
    r = await run('make', ['-s', '--no-print-directory', '-C', dir, 'run']);
    assert.equal(r.stdout, 'v1\n');

    // the same tree elsewhere, other mtimes: the same artifact; JSON face
    const copy = path.join(tmp, 'svc-copy');
    fs.cpSync(src, copy, { recursive: true, verbatimSymlinks: true });
    fs.utimesSync(path.join(copy, 'app.c'), 1_000_000, 1_000_000);
    r = await paved(['artifact', 'dir', copy, '--into', art, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { path: dir, digest });
    assert.deepEqual(fs.readdirSync(art), [path.basename(dir)]);

    // default: <data_dir>/artifacts
    r = await paved(['artifact', 'dir', src]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout,
        `${path.join(dataDir, 'artifacts', `sha256-${digest.slice(7)}`)} ${digest}\n`);

    // a change is another artifact
    fs.chmodSync(path.join(copy, 'Makefile'), 0o600);
    r = await paved(['artifact', 'dir', copy, '--into', art]);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout.split(' ')[1].trim(), digest);

    // an escaping symlink is refused by name, nothing left behind
    fs.symlinkSync('../../etc/passwd', path.join(copy, 'leak'));
    r = await paved(['artifact', 'dir', copy, '--into', art]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^paved artifact dir: symlink leak -> \.\.\/\.\.\/etc\/passwd points outside the tree \(a target that leaves the tree\)/);
    assert.equal(fs.readdirSync(art).filter((n) => n.startsWith('.tmp')).length, 0);
});

// ---- podman, buildah and a real registry ---------------------------------

describe('images with a real registry', { skip: skipImages }, () => {
    let reg; // "127.0.0.1:PORT"
    let ctx;
    const repo = `paved-it/hello-${process.pid}`;

    before(async () => {
        regPort = await freePort();
        reg = `127.0.0.1:${regPort}`;
        registry = spawn(REGISTRY_LOCAL, [path.join(tmp, 'registry'), reg],
            { stdio: ['ignore', 'pipe', 'pipe'] });
        registry.stdout.on('data', (c) => { regLog += c; });
        registry.stderr.on('data', (c) => { regLog += c; });
        await waitRegistry(`http://${reg}/v2/`);

        ctx = path.join(tmp, 'ctx');
        fs.mkdirSync(ctx, { recursive: true });
        fs.writeFileSync(path.join(ctx, 'hello.c'),
            '#include <stdio.h>\nint main(void) { puts("hello from paved"); return 0; }\n');
        const r = await run('gcc', ['-static', '-Os', '-o', path.join(ctx, 'hello'),
            path.join(ctx, 'hello.c')]);
        assert.equal(r.code, 0, `gcc -static: ${r.stderr}`);
        fs.writeFileSync(path.join(ctx, 'Dockerfile'),
            'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n');
        fs.writeFileSync(path.join(ctx, 'Containerfile.buildah'),
            'FROM scratch\nCOPY hello /hello\nLABEL built.by=buildah\nENTRYPOINT ["/hello"]\n');
    });

    test('the registry listens on its loopback address only', () => {
        const cfg = fs.readFileSync(path.join(tmp, 'registry', 'config.yml'), 'utf8');
        assert.match(cfg, new RegExp(`\\n  addr: "${reg}"\\n`));
        assert.match(cfg, new RegExp(`rootdirectory: "${path.join(tmp, 'registry', 'data')}"`));
        const l = listeners(regPort);
        assert.deepEqual(l, [`0100007F:${regPort.toString(16).toUpperCase().padStart(4, '0')}`]);
    });

    async function manifestDigest(name, tag) {
        const r = await fetch(`http://${reg}/v2/${name}/manifests/${tag}`,
            { headers: { Accept: MANIFEST_ACCEPT } });
        const body = await r.text();
        assert.equal(r.status, 200, `manifest ${name}:${tag}: ${body}`);
        return r.headers.get('docker-content-digest');
    }

    test('podman: build FROM scratch, push, the registry has that digest, it runs', async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const tag = `${reg}/${repo}:v1`;
        images.push(tag);
        let r = await paved(['image', 'build', '--context', ctx, '--tag', tag]);
        assert.equal(r.code, 0, r.stderr);
        t.diagnostic(`podman build of the FROM scratch image: ${r.ms} ms (paved to exit)`);
        assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
        const id = r.stdout.trim();
        assert.match(r.stderr, /STEP 1\/3: FROM scratch/); // the tool's output, shown
        const conf = path.join(dataDir, 'containers', 'containers.conf');
        const text = fs.readFileSync(conf, 'utf8');
        assert.match(text, /\[containers\]\ndefault_ulimits = \["nofile=1024:1024"(, "nproc=\d+:\d+")?\]\n/);
        assert.match(text, /\[engine\]\nruntime = "runc"\n/);
        r = await run('podman', ['image', 'inspect', '--format', '{{.Id}}', tag]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), id);

        // a second build of the same context is the same image (cached)
        r = await paved(['image', 'build', '--context', ctx, '--tag', tag, '--quiet']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), id);
        assert.equal(r.stderr, '');
        t.diagnostic(`cached rebuild: ${r.ms} ms`);

        r = await paved(['image', 'push', '--tag', tag, '--tls-verify=false']);
        assert.equal(r.code, 0, r.stderr);
        t.diagnostic(`podman push: ${r.ms} ms`);
        const m = new RegExp(`^${reg.replace(/\./g, '\\.')}/${repo}@(sha256:[0-9a-f]{64})\\n$`)
            .exec(r.stdout);
        assert.ok(m, r.stdout);
        assert.equal(await manifestDigest(repo, 'v1'), m[1]);
        // and by digest too
        assert.equal(await manifestDigest(repo, m[1]), m[1]);

        // the recorded reference runs, with the containers.conf paved wrote
        r = await run('podman', ['run', '--rm', '--tls-verify=false', r.stdout.trim()],
            { env: { ...baseEnv(), CONTAINERS_CONF: conf } });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'hello from paved\n');

        // --json
        r = await paved(['image', 'push', '--tag', tag, '--tls-verify', 'false',
            '--json', '--quiet']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout),
            { ref: `${reg}/${repo}@${m[1]}`, digest: m[1], tag });
    });

    test('buildah: build and push', { skip: skipBuildah }, async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const tag = `${reg}/${repo}:v2-buildah`;
        images.push(tag);
        let r = await paved(['image', 'build', '--tool', 'buildah', '--context', ctx,
            '--file', path.join(ctx, 'Containerfile.buildah'), '--tag', tag]);
        assert.equal(r.code, 0, r.stderr);
        t.diagnostic(`buildah build: ${r.ms} ms`);
        assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
        r = await paved(['image', 'push', '--tool', 'buildah', '--tag', tag,
            '--tls-verify=false']);
        assert.equal(r.code, 0, r.stderr);
        const m = /@(sha256:[0-9a-f]{64})\n$/.exec(r.stdout);
        assert.ok(m, r.stdout);
        assert.equal(r.stdout, `${reg}/${repo}@${m[1]}\n`);
        assert.equal(await manifestDigest(repo, 'v2-buildah'), m[1]);
    });

    test('vfs storage with its own root (PAVED_IMAGE_STORAGE_*)', async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const root = path.join(tmp, 'vfs-store');
        const tag = `${reg}/${repo}:v3-vfs`;
        images.push(tag); // were it to land in the default store after all
        const env = baseEnv({ PAVED_IMAGE_STORAGE_DRIVER: 'vfs',
            PAVED_IMAGE_STORAGE_ROOT: root });
        let r = await paved(['image', 'build', '--context', ctx, '--tag', tag, '--quiet'],
            { env });
        assert.equal(r.code, 0, r.stderr);
        t.diagnostic(`podman build (vfs): ${r.ms} ms`);
        assert.ok(fs.existsSync(path.join(root, 'vfs')), 'the vfs store is under the root given');
        r = await paved(['image', 'push', '--tag', tag, '--tls-verify=false', '--quiet'],
            { env });
        assert.equal(r.code, 0, r.stderr);
        const m = /@(sha256:[0-9a-f]{64})\n$/.exec(r.stdout);
        assert.ok(m, r.stdout);
        assert.equal(await manifestDigest(repo, 'v3-vfs'), m[1]);
        // not in the default store
        r = await run('podman', ['image', 'exists', tag]);
        assert.equal(r.code, 1);
    });

    test('a push to a registry that is not there fails with the tool\'s words', async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const dead = await freePort();
        const tag = `127.0.0.1:${dead}/${repo}:v1`;
        images.push(tag);
        let r = await run('podman', ['tag', `${reg}/${repo}:v1`, tag]);
        assert.equal(r.code, 0, r.stderr);
        r = await paved(['image', 'push', '--tag', tag, '--tls-verify=false', '--quiet']);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /paved image push: podman push failed \(exit status \d+\): .*(connection refused|connect)/);
    });

    // The built-in steps in a real run: a push webhook, the daemon's
    // scheduler, `uses: build-image` (format: image) and `uses: push-image`;
    // the store records the pushed reference by the registry's digest.
    test('pipeline steps build-image and push-image record the pushed digest', async (t) => {
        t.after(() => { if (t.failed) markFailed(); });
        const gitRoot = path.join(tmp, 'git');
        const pipes = path.join(tmp, 'pipelines');
        fs.mkdirSync(pipes, { recursive: true });
        fs.writeFileSync(path.join(pipes, 'image.yaml'), `name: image
on:
  push:
    branches: [main]
env:
  REGISTRY: ${reg}/paved-it
steps:
  - name: image
    uses: build-image
    with:
      format: image
  - name: push
    needs: [image]
    uses: push-image
    with:
      tls_verify: "false"
`);
        const repoObj = createRepo(gitRoot, 'shop/imgsvc');
        const sha = repoObj.commit({
            'hello': fs.readFileSync(path.join(ctx, 'hello')),
            'Dockerfile': 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n',
        }, 'an image');
        const tag = `${reg}/paved-it/imgsvc:sha-${sha.slice(0, 7)}`;
        images.push(tag);
        const d = await startDaemon({ env: {
            PAVED_GITHUB_SECRET: SECRET, PAVED_PIPELINES_DIR: pipes,
            PAVED_CLONE_URL_TEMPLATE: `file://${gitRoot}/{repo}.git`,
        } });
        try {
            const { before, after } = repoObj.push('refs/heads/main', sha);
            await deliver(d, 'push', pushPayload({ repo: 'shop/imgsvc',
                ref: 'refs/heads/main', before, after, cloneUrl: repoObj.fileUrl }));
            const [listed] = await waitRuns(d, { sha }, 1);
            const run = await waitDone(d, listed.id);
            assert.equal(run.state, 'success', JSON.stringify(run));
            const rows = sql(d.dbPath, 'SELECT kind, ref, digest, service FROM artifacts');
            assert.equal(rows.length, 1, JSON.stringify(rows));
            const digest = await manifestDigest('paved-it/imgsvc', `sha-${sha.slice(0, 7)}`);
            assert.deepEqual(rows[0], { kind: 'image', ref: `${reg}/paved-it/imgsvc@${digest}`,
                digest, service: 'imgsvc' });
        } finally {
            await d.stop();
        }
    });
});
