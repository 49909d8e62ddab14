// A HAND-WRITTEN loopback fake of GitHub for a GitHub App, for the check-run
// tests (checks.test.js; its own self-test is ghapp-forge.test.js).
//
// Why hand-written: @octokit/fixtures (the recordings @octokit/fixtures-server
// replays) has no scenario for GitHub Apps or check runs. Its api.github.com
// scenarios are: add-and-remove-repository-collaborator, add-labels-to-issue,
// branch-protection, create-file, create-status, errors, get-archive,
// get-content, get-organization, get-repository, get-root, git-refs, labels,
// lock-issue, mark-notifications-as-read, markdown, paginate-issues,
// project-cards, release-assets, release-assets-conflict, rename-repository,
// search-issues (ghapp-forge.test.js checks that none of them holds an
// /app/installations or /check-runs request, so this stays true).
//
// What it validates against: GitHub's published OpenAPI description of
// api.github.com (npm @octokit/openapi, loaded by lib/forge.js), operations
//   apps/get-repo-installation      GET /repos/{o}/{r}/installation
//   apps/create-installation-access-token
//                                   POST /app/installations/{id}/access_tokens
//   checks/create                   POST /repos/{o}/{r}/check-runs
//   checks/update                   PATCH /repos/{o}/{r}/check-runs/{id}
//   checks/list-for-ref             GET /repos/{o}/{r}/commits/{sha}/check-runs
// Each request body, path and query parameter goes through validateSchema()
// of lib/forge.js; a body that does not conform is answered 422 like GitHub and
// listed by schemaErrors(). GitHub's documented rules that the schema does not
// carry are checked too and reported the same way, prefixed "rule:" (a
// completed check run needs a conclusion; head_sha is a commit SHA;
// annotation columns only on one line; annotation title <= 255 characters,
// message and raw_details <= 64 KB). The fake's own answers are shaped like
// the operations' response schemas (ghapp-forge.test.js validates them).
//
// Authentication as GitHub does it:
//  - the App's JWT (Authorization: Bearer <jwt>) for the installation lookup
//    and the token exchange: RS256 signed with the App's private key (checked
//    with the public key), iss = the App id, iat in the past, exp in the
//    future, exp - iat <= 600 and exp <= now + 600; else 401;
//  - an installation token (Authorization: token ghs_...) for check runs
//    and their listing: it must be live (not past its expires_at, not
//    revoked) and belong to the installation that holds the repository;
//    else 401.
// It keeps, per check run, what a user of GitHub sees: status, conclusion,
// output title/summary/text, details_url, external_id and EVERY annotation
// received across requests, plus the transitions; and every request, in
// arrival order, with what it was answered and on which connection (client
// port, n-th request on it: shows keep-alive reuse and client-side resends).
//
// Fault injection as lib/forge.js: onRequest(fn) and enqueue(spec...) answer
// before the fake's own logic (that answer changes no state), refuse() and
// accept() stop and resume listening on the same port. A spec {real: true,
// delayMs?, close?} runs the fake's own logic (state changes) and then
// delays or drops the answer. It never talks to anything but 127.0.0.1 and
// never reads paved's code.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
    githubOperation, validateGithubRequest, validateSchema,
} from './forge.js';

export const GH_API_VERSION = '2022-11-28';
export const GH_ACCEPT = 'application/vnd.github+json';

export const OP = {
    installation: ['/repos/{owner}/{repo}/installation', 'get',
        'apps/get-repo-installation'],
    accessToken: ['/app/installations/{installation_id}/access_tokens',
        'post', 'apps/create-installation-access-token'],
    create: ['/repos/{owner}/{repo}/check-runs', 'post', 'checks/create'],
    update: ['/repos/{owner}/{repo}/check-runs/{check_run_id}', 'patch',
        'checks/update'],
    list: ['/repos/{owner}/{repo}/commits/{ref}/check-runs', 'get',
        'checks/list-for-ref'],
};

export const operation = (name) => githubOperation(...OP[name]);

const DOCS = {
    installation: 'https://docs.github.com/rest/apps/apps#get-a-repository-' +
        'installation-for-the-authenticated-app',
    accessToken: 'https://docs.github.com/rest/apps/apps#create-an-' +
        'installation-access-token-for-an-app',
    create: 'https://docs.github.com/rest/checks/runs#create-a-check-run',
    update: 'https://docs.github.com/rest/checks/runs#update-a-check-run',
    list: 'https://docs.github.com/rest/checks/runs#list-check-runs-for-a-' +
        'git-reference',
    none: 'https://docs.github.com/rest',
};

// ------------------------------------------------------------------ JWT

const b64url = (buf) => Buffer.from(buf).toString('base64')
    .replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

function b64urlDecode(s) {
    if (!/^[A-Za-z0-9_-]*$/.test(s))
        return null;
    return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

// An RSA key pair as GitHub hands an App's key out: PKCS#1 PEM
// ("BEGIN RSA PRIVATE KEY"), or PKCS#8 with format 'pkcs8'.
export function makeKeyPair({ bits = 2048, format = 'pkcs1' } = {}) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
        modulusLength: bits,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: format, format: 'pem' },
    });
    return { privateKey, publicKey };
}

// A JWT as an App makes it (for the self-test and for forging bad ones).
// claims default to iat = now - 60, exp = now + 540, iss = appId.
export function makeAppJwt({ privateKey, appId, now = Math.floor(
    Date.now() / 1000), claims = {}, header = { alg: 'RS256', typ: 'JWT' },
sign = true } = {}) {
    const payload = { iat: now - 60, exp: now + 540, iss: String(appId),
        ...claims };
    for (const [k, v] of Object.entries(payload)) {
        if (v === undefined)
            delete payload[k];
    }
    const data = `${b64url(JSON.stringify(header))}.${b64url(
        JSON.stringify(payload))}`;
    if (!sign)
        return `${data}.`;
    const sig = crypto.sign('RSA-SHA256', Buffer.from(data), privateKey);
    return `${data}.${b64url(sig)}`;
}

// Checks a JWT the way GitHub does for an App. Returns {ok, why, header,
// claims}. now: unix seconds.
export function verifyAppJwt(jwt, { publicKey, appId, now = Math.floor(
    Date.now() / 1000) }) {
    const parts = String(jwt).split('.');
    if (parts.length !== 3)
        return { ok: false, why: 'A JSON web token could not be decoded' };
    let header;
    let claims;
    try {
        header = JSON.parse(b64urlDecode(parts[0])?.toString('utf8'));
        claims = JSON.parse(b64urlDecode(parts[1])?.toString('utf8'));
    } catch {
        return { ok: false, why: 'A JSON web token could not be decoded' };
    }
    const out = { ok: false, header, claims };
    if (!header || header.alg !== 'RS256')
        return { ...out, why: `the JWT alg is ${JSON.stringify(header?.alg)},` +
            ' GitHub takes RS256' };
    const sig = b64urlDecode(parts[2]);
    let good = false;
    try {
        good = sig !== null && sig.length > 0 && crypto.verify('RSA-SHA256',
            Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, sig);
    } catch {
        good = false;
    }
    if (!good)
        return { ...out, why: 'A JSON web token could not be decoded ' +
            '(the signature does not verify with the App\'s public key)' };
    if (!claims || typeof claims !== 'object')
        return { ...out, why: 'A JSON web token could not be decoded' };
    if (claims.iss === undefined || String(claims.iss) !== String(appId))
        return { ...out, why: `'Issuer' claim ('iss') must be the App's id ` +
            `(${appId}), got ${JSON.stringify(claims.iss)}` };
    if (!Number.isInteger(claims.iat))
        return { ...out, why: '\'Issued at\' claim (\'iat\') must be an ' +
            'Integer representing the time that the assertion was issued' };
    if (!Number.isInteger(claims.exp))
        return { ...out, why: '\'Expiration time\' claim (\'exp\') must be ' +
            'a numeric value representing the future time at which the ' +
            'assertion expires' };
    if (claims.iat > now)
        return { ...out, why: `'Issued at' claim ('iat') is in the future ` +
            `(iat ${claims.iat}, now ${now})` };
    if (claims.exp <= now)
        return { ...out, why: `'Expiration time' claim ('exp') must be a ` +
            `numeric value representing the future time at which the ` +
            `assertion expires (exp ${claims.exp}, now ${now})` };
    if (claims.exp - claims.iat > 600 || claims.exp - now > 600)
        return { ...out, why: `'Expiration time' claim ('exp') is too far ` +
            `in the future (exp - iat = ${claims.exp - claims.iat} s, ` +
            `exp - now = ${claims.exp - now} s; at most 600)` };
    return { ...out, ok: true, why: null };
}

// ----------------------------------------------------------- answers

export function ghError(status, message, doc = DOCS.none, extra = {}) {
    return {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { message, documentation_url: doc, status: String(status),
            ...extra },
    };
}

export const appAnswers = {
    badCredentials: () => ghError(401, 'Bad credentials'),
    serverError: (status = 500) => ghError(status, status === 503
        ? 'Service Unavailable' : 'Server Error'),
    tooMany: (retryAfterSeconds) => {
        const a = ghError(429, 'Too Many Requests');
        a.headers['retry-after'] = String(retryAfterSeconds);
        return a;
    },
};

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function rateHeaders() {
    return {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        'x-ratelimit-resource': 'core',
        'x-github-api-version-selected': GH_API_VERSION,
    };
}

// ------------------------------------------------------------- routes

function parseRoute(method, p) {
    const dec = (s) => {
        try {
            return decodeURIComponent(s);
        } catch {
            return s;
        }
    };
    let m;
    if (method === 'GET' &&
        (m = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(p)))
        return { op: 'installation', owner: dec(m[1]), name: dec(m[2]),
            repo: `${dec(m[1])}/${dec(m[2])}`,
            params: { owner: dec(m[1]), repo: dec(m[2]) } };
    if (method === 'POST' &&
        (m = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(p))) {
        const n = /^\d+$/.test(m[1]) ? Number(m[1]) : m[1];
        return { op: 'accessToken', installationId: n,
            params: { installation_id: n } };
    }
    if (method === 'POST' &&
        (m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/.exec(p)))
        return { op: 'create', owner: dec(m[1]), name: dec(m[2]),
            repo: `${dec(m[1])}/${dec(m[2])}`,
            params: { owner: dec(m[1]), repo: dec(m[2]) } };
    if (method === 'GET' &&
        (m = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/check-runs$/
            .exec(p)))
        return { op: 'list', owner: dec(m[1]), name: dec(m[2]),
            repo: `${dec(m[1])}/${dec(m[2])}`, ref: dec(m[3]),
            params: { owner: dec(m[1]), repo: dec(m[2]), ref: dec(m[3]) } };
    if (method === 'PATCH' &&
        (m = /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/([^/]+)$/.exec(p))) {
        const n = /^\d+$/.test(m[3]) ? Number(m[3]) : m[3];
        return { op: 'update', owner: dec(m[1]), name: dec(m[2]),
            repo: `${dec(m[1])}/${dec(m[2])}`, checkRunId: n,
            params: { owner: dec(m[1]), repo: dec(m[2]),
                check_run_id: n } };
    }
    return null;
}

const bytes = (s) => Buffer.byteLength(String(s), 'utf8');

// The query string against the operation's query parameters (integers
// and booleans arrive as text); a parameter the description does not
// name is reported too (GitHub ignores it: nobody reads what was sent).
export function validateQuery(op, searchParams) {
    const errs = [];
    const known = new Map(op.params.filter((p) => p.in === 'query')
        .map((p) => [p.name, p]));
    for (const [k, raw] of searchParams) {
        const prm = known.get(k);
        if (!prm) {
            errs.push(`query: parameter "${k}" is not in the description`);
            continue;
        }
        let v = raw;
        const t = prm.schema?.type;
        if (t === 'integer' || t === 'number') {
            v = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
        } else if (t === 'boolean') {
            v = raw === 'true' ? true : (raw === 'false' ? false : raw);
        }
        errs.push(...validateSchema(prm.schema, v, { at: `query.${k}` }));
    }
    for (const prm of known.values()) {
        if (prm.required && !searchParams.has(prm.name))
            errs.push(`query: parameter "${prm.name}" is required`);
    }
    return errs;
}

// GitHub's documented rules for check runs that its OpenAPI schema does not
// carry. Each problem is "rule: ...".
function checkRunRules(op, body) {
    const out = [];
    if (!body || typeof body !== 'object' || Array.isArray(body))
        return out;
    if (op === 'create') {
        if (typeof body.head_sha === 'string' &&
            !/^[0-9a-f]{40}$/.test(body.head_sha))
            out.push(`rule: head_sha ${JSON.stringify(body.head_sha)} is ` +
                'not a commit SHA (GitHub: No commit found for SHA)');
        if ((body.status === 'completed' || body.completed_at !== undefined) &&
            body.conclusion === undefined)
            out.push('rule: conclusion is required with status completed ' +
                'or completed_at');
    }
    const anns = body.output?.annotations;
    if (Array.isArray(anns)) {
        anns.forEach((a, i) => {
            if (!a || typeof a !== 'object')
                return;
            const at = `body.output.annotations[${i}]`;
            if ((a.start_column !== undefined || a.end_column !== undefined) &&
                a.start_line !== a.end_line)
                out.push(`rule: ${at}: start_column/end_column only when ` +
                    'start_line == end_line');
            if (Number.isInteger(a.start_line) && a.start_line < 1)
                out.push(`rule: ${at}: line numbers start at 1`);
            if (Number.isInteger(a.start_line) && Number.isInteger(a.end_line)
                && a.end_line < a.start_line)
                out.push(`rule: ${at}: end_line before start_line`);
            if (typeof a.title === 'string' && [...a.title].length > 255)
                out.push(`rule: ${at}.title: more than 255 characters`);
            for (const k of ['message', 'raw_details']) {
                if (typeof a[k] === 'string' && bytes(a[k]) > 65536)
                    out.push(`rule: ${at}.${k}: more than 64 KB`);
            }
        });
    }
    return out;
}

// Keywords of GitHub's schemas that validateSchema() of lib/forge.js does
// not check: maxItems/minItems (checks' 50 annotations a request) and
// format date-time. Same "path: problem" strings.
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export function schemaExtras(schema, value, at = 'body') {
    const errs = [];
    const walk = (s, v, p) => {
        if (!s || typeof s !== 'object' || v === undefined || v === null)
            return;
        for (const sub of s.allOf ?? [])
            walk(sub, v, p);
        if (Array.isArray(v)) {
            if (typeof s.maxItems === 'number' && v.length > s.maxItems)
                errs.push(`${p}: ${v.length} items, at most ${s.maxItems}`);
            if (typeof s.minItems === 'number' && v.length < s.minItems)
                errs.push(`${p}: ${v.length} items, at least ${s.minItems}`);
            if (s.items)
                v.forEach((x, i) => walk(s.items, x, `${p}[${i}]`));
            return;
        }
        if (typeof v === 'string' && s.format === 'date-time' &&
            !DATE_TIME.test(v))
            errs.push(`${p}: ${JSON.stringify(v)} is not a date-time`);
        if (typeof v === 'object' && s.properties) {
            for (const [k, sub] of Object.entries(s.properties)) {
                if (k in v)
                    walk(sub, v[k], `${p}.${k}`);
            }
        }
    };
    walk(schema, value, at);
    return errs;
}

// ------------------------------------------------------------- the fake

// opts: {appId: '424242', prefix: '' ('/api/v3' for GitHub Enterprise),
// keys: {privateKey, publicKey} (made when absent), keyFormat: 'pkcs1',
// installations: {id: ['owner/repo', ...]}, tokenTtlSec: 3600,
// validate: true}. Returns the handle described below.
export async function startGhAppForge({ appId = '424242', prefix = '',
    keys, keyFormat = 'pkcs1', installations = {}, tokenTtlSec = 3600,
    validate = true } = {}) {
    // parse GitHub's description now, not while a request waits
    if (validate) {
        for (const name of Object.keys(OP))
            operation(name);
    }
    const keyPair = keys ?? makeKeyPair({ format: keyFormat });
    const t0 = Date.now();
    const requests = [];
    const queue = [];
    const sockets = new Set();
    const repoInstallation = new Map(); // "owner/repo" -> installation id
    const tokens = new Map(); // token -> {installationId, expiresMs, ...}
    const checkRuns = new Map(); // id -> state
    const waiters = new Set();
    const timers = new Set(); // delayed answers, cleared by close()
    let ttlSec = tokenTtlSec;
    let handler = null;
    let listening = false;
    let port = 0;
    let seq = 0;
    // large ids: GitHub's check-run ids are past 2^32 (a 32-bit id would
    // be cut), and installation ids are plain integers
    let nextCheckRunId = 30_000_000_001;
    let nextSuiteId = 20_000_000_001;

    for (const [id, repos] of Object.entries(installations)) {
        for (const r of repos)
            repoInstallation.set(r, Number(id));
    }
    const installationIds = () => new Set(repoInstallation.values());

    const notify = () => {
        for (const w of [...waiters]) {
            let ok = false;
            try {
                ok = w.pred();
            } catch {
                ok = false;
            }
            if (ok) {
                waiters.delete(w);
                w.resolve();
            }
        }
    };

    const baseUrl = () => `http://127.0.0.1:${port}${prefix}`;

    // What the request says about its caller: {scheme, ok, why, ...}
    const authOf = (rec, route) => {
        const h = String(rec.headers.authorization ?? '');
        const m = /^(\S+)\s+(.+)$/.exec(h);
        const scheme = m ? m[1].toLowerCase() : (h ? 'other' : 'none');
        const cred = m ? m[2].trim() : '';
        const wantJwt = route.op === 'installation' ||
            route.op === 'accessToken';
        if (wantJwt) {
            if (scheme !== 'bearer')
                return { scheme, ok: false, why: 'A JSON web token could ' +
                    `not be decoded (Authorization scheme ${JSON.stringify(
                        m ? m[1] : h.slice(0, 10))}, want Bearer <JWT>)` };
            const v = verifyAppJwt(cred, { publicKey: keyPair.publicKey,
                appId });
            return { scheme, ok: v.ok, why: v.why, jwt: cred,
                claims: v.claims, header: v.header };
        }
        if (scheme !== 'token')
            return { scheme, ok: false, why: 'Bad credentials (want ' +
                'Authorization: token <installation token>)' };
        const tk = tokens.get(cred);
        if (!tk)
            return { scheme, ok: false, why: 'Bad credentials (not a token ' +
                'this App was given)', token: cred };
        if (tk.revoked)
            return { scheme, ok: false, why: 'Bad credentials (revoked)',
                token: cred, installationId: tk.installationId };
        if (Date.now() >= tk.expiresMs)
            return { scheme, ok: false, why: 'Bad credentials (expired at ' +
                `${iso(tk.expiresMs)})`, token: cred,
            installationId: tk.installationId };
        const holder = repoInstallation.get(route.repo);
        if (holder !== tk.installationId)
            return { scheme, ok: false, why: 'Bad credentials (the token is ' +
                `of installation ${tk.installationId}, ${route.repo} is ` +
                `${holder === undefined ? 'not installed'
                    : `in installation ${holder}`})`, token: cred,
            installationId: tk.installationId };
        return { scheme, ok: true, why: null, token: cred,
            installationId: tk.installationId };
    };

    const checkRunAnswer = (cr) => {
        const url = `${baseUrl()}/repos/${cr.repo}/check-runs/${cr.id}`;
        return {
            id: cr.id,
            head_sha: cr.head_sha,
            node_id: `CR_kwDOfake${cr.id}`,
            external_id: cr.external_id ?? '',
            url,
            html_url: `https://github.invalid/${cr.repo}/runs/${cr.id}`,
            details_url: cr.details_url ?? null,
            status: cr.status,
            conclusion: cr.conclusion ?? null,
            started_at: cr.started_at ?? null,
            completed_at: cr.completed_at ?? null,
            output: {
                title: cr.output.title ?? null,
                summary: cr.output.summary ?? null,
                text: cr.output.text ?? null,
                annotations_count: cr.annotations.length,
                annotations_url: `${url}/annotations`,
            },
            name: cr.name,
            check_suite: { id: cr.suite },
            app: appObject(),
            pull_requests: [],
        };
    };

    const appObject = () => ({
        id: Number(appId) || 1,
        slug: 'paved-int',
        node_id: 'A_kwfakeapp',
        owner: userObject('acme', 1),
        name: 'paved (integration fake)',
        description: '',
        external_url: 'https://paved.example.test',
        html_url: 'https://github.invalid/apps/paved-int',
        created_at: '2024-01-01T00:00:00Z',
        updated_at: '2024-01-01T00:00:00Z',
        permissions: { checks: 'write', metadata: 'read', statuses: 'write' },
        events: [],
    });

    const userObject = (login, id) => ({
        login, id, node_id: `U_fake${id}`,
        avatar_url: `https://github.invalid/${login}.png`,
        gravatar_id: '',
        url: `https://api.github.invalid/users/${login}`,
        html_url: `https://github.invalid/${login}`,
        followers_url: `https://api.github.invalid/users/${login}/followers`,
        following_url: `https://api.github.invalid/users/${login}/following`,
        gists_url: `https://api.github.invalid/users/${login}/gists`,
        starred_url: `https://api.github.invalid/users/${login}/starred`,
        subscriptions_url:
            `https://api.github.invalid/users/${login}/subscriptions`,
        organizations_url: `https://api.github.invalid/users/${login}/orgs`,
        repos_url: `https://api.github.invalid/users/${login}/repos`,
        events_url: `https://api.github.invalid/users/${login}/events`,
        received_events_url:
            `https://api.github.invalid/users/${login}/received_events`,
        type: 'Organization',
        site_admin: false,
    });

    const installationAnswer = (id, owner) => ({
        id,
        account: userObject(owner, 7),
        repository_selection: 'selected',
        access_tokens_url: `${baseUrl()}/app/installations/${id}/` +
            'access_tokens',
        repositories_url: `${baseUrl()}/installation/repositories`,
        html_url: `https://github.invalid/organizations/${owner}/settings/` +
            `installations/${id}`,
        app_id: Number(appId) || 1,
        target_id: 7,
        target_type: 'Organization',
        permissions: { checks: 'write', metadata: 'read' },
        events: [],
        created_at: '2024-01-01T00:00:00Z',
        updated_at: '2024-01-01T00:00:00Z',
        single_file_name: null,
        app_slug: 'paved-int',
        suspended_by: null,
        suspended_at: null,
    });

    // Applies a check-run request to the state; the answer spec.
    const applyCheckRun = (rec, route) => {
        const b = rec.body;
        const now = Date.now();
        let cr;
        if (route.op === 'create') {
            cr = {
                id: nextCheckRunId++,
                suite: nextSuiteId++,
                repo: route.repo,
                name: b.name,
                head_sha: b.head_sha,
                external_id: undefined,
                details_url: undefined,
                status: 'queued',
                conclusion: undefined,
                started_at: iso(now),
                completed_at: undefined,
                output: {},
                annotations: [],
                transitions: [],
                requests: [],
                createdSeq: rec.seq,
                installationId: rec.auth.installationId,
            };
            checkRuns.set(cr.id, cr);
        } else {
            cr = checkRuns.get(route.checkRunId);
            if (!cr || cr.repo !== route.repo)
                return ghError(404, 'Not Found', DOCS.update);
        }
        const before = { status: cr.status, conclusion: cr.conclusion };
        for (const k of ['name', 'details_url', 'external_id',
            'started_at']) {
            if (b[k] !== undefined)
                cr[k] = b[k];
        }
        if (b.status !== undefined)
            cr.status = b.status;
        if (b.conclusion !== undefined) {
            cr.conclusion = b.conclusion;
            cr.status = 'completed'; // GitHub: a conclusion completes it
        }
        if (cr.status === 'completed' && !cr.completed_at)
            cr.completed_at = b.completed_at ?? iso(now);
        if (cr.status !== 'completed') {
            cr.conclusion = undefined;
            cr.completed_at = undefined;
        }
        const out = b.output;
        let added = 0;
        if (out && typeof out === 'object') {
            for (const k of ['title', 'summary', 'text']) {
                if (out[k] !== undefined)
                    cr.output[k] = out[k];
            }
            if (Array.isArray(out.annotations)) {
                for (const a of out.annotations)
                    cr.annotations.push({ ...a, seq: rec.seq });
                added = out.annotations.length;
            }
        }
        cr.requests.push(rec.seq);
        if (before.status !== cr.status ||
            before.conclusion !== cr.conclusion || route.op === 'create')
            cr.transitions.push({ seq: rec.seq, status: cr.status,
                conclusion: cr.conclusion ?? null });
        rec.checkRun = { id: cr.id, status: cr.status,
            conclusion: cr.conclusion ?? null, annotations: added };
        return {
            status: route.op === 'create' ? 201 : 200,
            headers: { ...rateHeaders(), ...(route.op === 'create'
                ? { location: `${baseUrl()}/repos/${cr.repo}/check-runs/` +
                    `${cr.id}` } : {}) },
            body: checkRunAnswer(cr),
        };
    };

    // GET .../commits/{ref}/check-runs: the check runs of the App on that
    // commit, newest first, filtered and paged as GitHub does (filter
    // latest, the default, keeps the newest per name).
    const listCheckRuns = (rec, route) => {
        const q = new URL(rec.url, 'http://x').searchParams;
        let list = [...checkRuns.values()].filter((c) =>
            c.repo === route.repo && c.head_sha === route.ref)
            .sort((a, b) => b.id - a.id);
        if (q.has('check_name'))
            list = list.filter((c) => c.name === q.get('check_name'));
        if (q.has('status'))
            list = list.filter((c) => c.status === q.get('status'));
        if (q.has('app_id') && q.get('app_id') !== String(Number(appId)))
            list = [];
        if ((q.get('filter') ?? 'latest') === 'latest') {
            const seen = new Set();
            list = list.filter((c) => !seen.has(c.name) &&
                seen.add(c.name));
        }
        const perPage = Math.min(Number(q.get('per_page') ?? 30), 100);
        const page = Math.max(Number(q.get('page') ?? 1), 1);
        const slice = list.slice((page - 1) * perPage, page * perPage);
        const headers = rateHeaders();
        if (page * perPage < list.length) {
            const next = new URL(`${baseUrl()}${rec.path}`);
            for (const [k, v] of q)
                next.searchParams.set(k, v);
            next.searchParams.set('page', String(page + 1));
            headers.link = `<${next}>; rel="next"`;
        }
        return { status: 200, headers, body: { total_count: list.length,
            check_runs: slice.map((c) => checkRunAnswer(c)) } };
    };

    // The fake's own answer (after faults): auth, then the resource, then
    // the body, then the state change.
    const realAnswer = (rec) => {
        if (!rec.prefixed || !rec.route)
            return ghError(404, 'Not Found');
        const route = rec.route;
        if (!rec.headers['user-agent'])
            return ghError(403, 'Request forbidden by administrative rules. ' +
                'Please make sure your request has a User-Agent header ' +
                '(https://docs.github.com/en/rest/overview/resources-in-the-' +
                'rest-api#user-agent-required).');
        const ver = rec.headers['x-github-api-version'];
        if (ver !== undefined && ver !== GH_API_VERSION)
            return ghError(400, `API version '${ver}' is not supported.`);
        if (!rec.auth.ok)
            return ghError(401, rec.auth.why?.startsWith('Bad credentials')
                ? 'Bad credentials' : rec.auth.why, DOCS[route.op]);
        if (route.op === 'installation') {
            const id = repoInstallation.get(route.repo);
            if (id === undefined)
                return ghError(404, 'Not Found', DOCS.installation);
            return { status: 200, headers: rateHeaders(),
                body: installationAnswer(id, route.owner) };
        }
        if (route.op === 'accessToken') {
            if (!installationIds().has(route.installationId))
                return ghError(404, 'Not Found', DOCS.accessToken);
            if (rec.schemaErrors.length > 0)
                return ghError(422, 'Invalid request.\n\n' +
                    rec.schemaErrors.join('\n'), DOCS.accessToken);
            const token = `ghs_${crypto.randomBytes(27).toString('base64url')
                .replace(/[-_]/g, 'x').slice(0, 36)}`;
            const expiresMs = Math.floor((Date.now() + ttlSec * 1000) / 1000)
                * 1000;
            tokens.set(token, { token, installationId: route.installationId,
                expiresMs, issuedMs: Date.now(), seq: rec.seq,
                revoked: false });
            rec.issuedToken = token;
            return {
                status: 201,
                headers: rateHeaders(),
                body: {
                    token,
                    expires_at: iso(expiresMs),
                    permissions: { checks: 'write', metadata: 'read' },
                    repository_selection: 'selected',
                },
            };
        }
        if (route.op === 'list') {
            if (rec.schemaErrors.length > 0)
                return ghError(422, 'Invalid request.\n\n' +
                    rec.schemaErrors.join('\n'), DOCS.list);
            return listCheckRuns(rec, route);
        }
        // check runs
        if (rec.schemaErrors.length > 0)
            return ghError(422, 'Invalid request.\n\n' +
                rec.schemaErrors.join('\n'), DOCS[route.op]);
        return applyCheckRun(rec, route);
    };

    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('error', () => {});
        req.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let body;
            try {
                body = raw.length > 0 ? JSON.parse(raw) : undefined;
            } catch {
                body = undefined;
            }
            const u = new URL(req.url, 'http://127.0.0.1');
            let p = u.pathname;
            const prefixed = prefix === '' || p.startsWith(`${prefix}/`);
            if (prefix !== '' && prefixed)
                p = p.slice(prefix.length);
            const route = parseRoute(req.method, p);
            const rec = {
                seq: seq++,
                method: req.method,
                url: req.url,
                path: p,
                prefixed,
                headers: { ...req.headers },
                rawHeaders: [...req.rawHeaders],
                raw,
                body,
                time: Date.now(),
                answeredAt: null,
                answer: null, // {status, clientGone} once answered; 'closed'
                spec: null,
                answerText: null,
                route,
                op: route?.op ?? null,
                auth: route ? authOf({ headers: req.headers }, route)
                    : { scheme: 'none', ok: false, why: 'no route' },
                headerProblems: [],
                schemaErrors: [],
                checkRun: null,
                issuedToken: null,
                fault: false,
                // which connection (client port) and its how-manieth
                // request: shows keep-alive reuse and client-side resends
                conn: { port: req.socket.remotePort,
                    n: (req.socket.pavedRequests =
                        (req.socket.pavedRequests ?? 0) + 1) },
            };
            if (route) {
                const h = req.headers;
                if (h.accept !== GH_ACCEPT)
                    rec.headerProblems.push(`Accept ${JSON.stringify(
                        h.accept)}, want ${GH_ACCEPT}`);
                if (h['x-github-api-version'] !== GH_API_VERSION)
                    rec.headerProblems.push(`X-GitHub-Api-Version ${
                        JSON.stringify(h['x-github-api-version'])}, want ` +
                        GH_API_VERSION);
                if (h['user-agent'] !== 'paved')
                    rec.headerProblems.push(`User-Agent ${JSON.stringify(
                        h['user-agent'])}, want paved`);
                if (validate) {
                    rec.schemaErrors = validateGithubRequest(
                        operation(route.op), { headers: h, raw, body,
                            params: route.params });
                    rec.schemaErrors.push(...validateQuery(
                        operation(route.op), u.searchParams));
                    if (route.op === 'list' &&
                        Number(u.searchParams.get('per_page') ?? 30) > 100)
                        rec.schemaErrors.push('rule: query.per_page: at ' +
                            'most 100');
                    const opSchema = operation(route.op).schema;
                    if (opSchema && body !== undefined)
                        rec.schemaErrors.push(...schemaExtras(opSchema,
                            body));
                    if (route.op === 'create' || route.op === 'update')
                        rec.schemaErrors.push(...checkRunRules(route.op,
                            body));
                }
            }
            requests.push(rec);

            let spec;
            if (handler)
                spec = handler(rec);
            if (spec === undefined && queue.length > 0)
                spec = queue.shift();
            const answer = (sp) => {
                let s = sp;
                if (s === undefined || s === null || s.real) {
                    const real = realAnswer(rec);
                    s = s ? { ...real, delayMs: s.delayMs, close: s.close }
                        : real;
                } else {
                    rec.fault = true;
                }
                rec.spec = s;
                notify(); // the state may have changed before the answer
                if (s.delayMs > 0) {
                    const tm = setTimeout(() => {
                        timers.delete(tm);
                        send(s);
                    }, s.delayMs);
                    timers.add(tm);
                } else
                    send(s);
            };
            const send = (s) => {
                if (s.close) {
                    rec.answer = 'closed';
                    rec.answeredAt = Date.now();
                    req.socket.destroy();
                    notify();
                    return;
                }
                const text = s.body === undefined ? ''
                    : (typeof s.body === 'string' ? s.body
                        : JSON.stringify(s.body));
                const h = { 'content-type': 'application/json; charset=utf-8',
                    ...(s.headers ?? {}) };
                h['content-length'] = String(Buffer.byteLength(text));
                rec.answeredAt = Date.now();
                rec.answerText = text;
                rec.answer = { status: s.status ?? 200,
                    clientGone: req.socket.destroyed };
                try {
                    res.writeHead(s.status ?? 200, h);
                    res.end(text);
                } catch {
                    rec.answer.clientGone = true;
                }
                notify();
            };
            Promise.resolve(spec).catch((e) => ({ status: 502,
                body: { message: `fake GitHub: ${e.message}` } }))
                .then((sp) => answer(sp));
            notify();
        });
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
    });
    server.on('clientError', (e, s) => s.destroy());

    const listen = (p) => new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(p, '127.0.0.1', () => {
            server.removeListener('error', reject);
            listening = true;
            resolve(server.address().port);
        });
    });
    port = await listen(0);

    const ok2xx = (r) => r.answer && r.answer !== 'closed' &&
        r.answer.status >= 200 && r.answer.status < 300;

    const gh = {
        kind: 'github',
        app: true,
        t0,
        appId: String(appId),
        prefix,
        privateKey: keyPair.privateKey,
        publicKey: keyPair.publicKey,
        get port() {
            return port;
        },
        // the base URL for PAVED_GITHUB_API_URL (no trailing slash)
        get url() {
            return baseUrl();
        },
        requests,
        // --- set-up
        install(repo, installationId) {
            repoInstallation.set(repo, Number(installationId));
        },
        uninstall(repo) {
            repoInstallation.delete(repo);
        },
        installationOf: (repo) => repoInstallation.get(repo),
        // lifetime of the tokens issued from now on (seconds; may be 0 or
        // negative for a token that is already dead)
        get tokenTtlSec() {
            return ttlSec;
        },
        set tokenTtlSec(v) {
            ttlSec = v;
        },
        setTokenTtl(v) {
            ttlSec = v;
        },
        // every token issued so far is refused from now on
        revokeTokens() {
            for (const t of tokens.values())
                t.revoked = true;
        },
        issuedTokens: () => [...tokens.values()].sort((a, b) => a.seq - b.seq),
        // writes the private key to dir/<name> (mode 0600); its path
        writeKeyFile(dir, name = 'app-key.pem') {
            const f = path.join(dir, name);
            fs.writeFileSync(f, keyPair.privateKey, { mode: 0o600 });
            return f;
        },
        // env for paved as this App (no PAVED_GITHUB_TOKEN)
        env({ keyFile, keyInline = false, publicUrl, installationId,
            timeout } = {}) {
            const env = {
                PAVED_GITHUB_API_URL: baseUrl(),
                PAVED_GITHUB_APP_ID: String(appId),
            };
            if (keyInline)
                env.PAVED_GITHUB_APP_KEY = keyPair.privateKey.trim()
                    .replace(/\n/g, '\\n');
            else
                env.PAVED_GITHUB_APP_KEY_FILE = keyFile;
            if (installationId !== undefined)
                env.PAVED_GITHUB_APP_INSTALLATION_ID = String(installationId);
            if (publicUrl !== undefined)
                env.PAVED_PUBLIC_URL = publicUrl;
            if (timeout !== undefined)
                env.PAVED_REPORT_TIMEOUT = timeout;
            return env;
        },
        // --- what happened
        lookups: () => requests.filter((r) => r.op === 'installation'),
        exchanges: () => requests.filter((r) => r.op === 'accessToken'),
        // exchanges GitHub answered with a token
        tokenGrants: () => requests.filter((r) => r.issuedToken),
        checkRequests: () => requests.filter((r) => r.op === 'create' ||
            r.op === 'update'),
        // GET .../commits/{sha}/check-runs (paved looking for a check run
        // it may have created already)
        listRequests: () => requests.filter((r) => r.op === 'list'),
        // check-run requests GitHub took (2xx, state changed)
        acceptedCheckRequests: () => gh.checkRequests().filter((r) =>
            ok2xx(r) && r.checkRun),
        // every check run GitHub holds, by id (what a user sees), oldest
        // first: {id, repo, name, head_sha, external_id, details_url,
        // status, conclusion, output: {title, summary, text}, annotations:
        // [...], transitions: [{seq, status, conclusion}], requests: [seq]}
        checkRuns: () => [...checkRuns.values()].sort((a, b) => a.id - b.id),
        checkRun: (id) => checkRuns.get(id),
        // check runs of a filter {repo, sha, name, external_id}
        find(f = {}) {
            return gh.checkRuns().filter((c) =>
                (f.repo === undefined || c.repo === f.repo) &&
                (f.sha === undefined || c.head_sha === f.sha) &&
                (f.name === undefined || c.name === f.name) &&
                (f.external_id === undefined ||
                    c.external_id === String(f.external_id)));
        },
        // OpenAPI and rule problems of every request
        schemaErrors: () => requests.filter((r) => r.schemaErrors.length > 0)
            .map((r) => ({ seq: r.seq, method: r.method, path: r.path,
                raw: r.raw.slice(0, 2000), errors: r.schemaErrors })),
        headerProblems: () => requests.filter((r) =>
            r.headerProblems.length > 0).map((r) => ({ seq: r.seq,
            path: r.path, problems: r.headerProblems })),
        // requests refused for their credentials by the fake's own logic
        authFailures: () => requests.filter((r) => r.route && !r.fault &&
            r.answer && r.answer !== 'closed' && r.answer.status === 401),
        // --- faults (as lib/forge.js)
        // fn(rec) -> answer spec or undefined (then the queue, then the
        // fake's own logic). Spec: {status, headers, body, delayMs, close}
        // or {real: true, delayMs?, close?}
        onRequest(fn) {
            handler = fn;
        },
        enqueue(...specs) {
            queue.push(...specs);
        },
        healthy() {
            handler = null;
            queue.length = 0;
        },
        async refuse() {
            if (!listening)
                return;
            listening = false;
            const closed = new Promise((r) => server.close(() => r()));
            for (const s of sockets)
                s.destroy();
            await closed;
        },
        async accept() {
            if (listening)
                return;
            const p = await listen(port);
            if (p !== port)
                throw new Error(`fake GitHub came back on ${p}, not ${port}`);
        },
        get listening() {
            return listening;
        },
        // resolves once pred() holds (checked at every request/answer), or
        // rejects after timeoutMs with describe()
        waitFor(what, pred, { timeoutMs = 90_000 } = {}) {
            let now = false;
            try {
                now = pred();
            } catch {
                now = false;
            }
            if (now)
                return Promise.resolve();
            return new Promise((resolve, reject) => {
                let timer = null;
                const w = { pred, resolve: () => {
                    clearTimeout(timer);
                    resolve();
                } };
                waiters.add(w);
                timer = setTimeout(() => {
                    if (!waiters.has(w))
                        return;
                    waiters.delete(w);
                    reject(new Error(`fake GitHub App: timed out after ` +
                        `${timeoutMs} ms waiting for ${what}\n` +
                        `requests seen:\n${gh.describe()}`));
                }, timeoutMs);
            });
        },
        // one line per request, then the check runs, for failure messages
        describe() {
            const short = (t) => (t ? `${String(t).slice(0, 8)}…` : '-');
            const lines = requests.map((r) => {
                const a = r.answer === 'closed' ? 'closed'
                    : (r.answer ? `${r.answer.status}` : 'unanswered');
                const auth = r.auth.scheme === 'bearer' ? 'jwt'
                    : (r.auth.scheme === 'token' ? `token ${short(
                        r.auth.token)}` : r.auth.scheme);
                let what = '';
                if (r.op === 'create' || r.op === 'update') {
                    const b = r.body ?? {};
                    what = ` {${b.name ?? ''} ${b.status ?? '-'}/${
                        b.conclusion ?? '-'} title=${JSON.stringify(
                        b.output?.title ?? null)} text=${b.output?.text
                        === undefined ? '-' : `${bytes(b.output.text)}B`} ` +
                        `ann=${b.output?.annotations?.length ?? 0} ext=${
                        b.external_id ?? '-'}}`;
                }
                if (r.op === 'list' && Array.isArray(r.spec?.body?.check_runs))
                    what = ` found ${r.spec.body.total_count}: [${
                        r.spec.body.check_runs.map((c) => `${c.id} ${
                            c.status} ext=${c.external_id}`).join(', ')}]`;
                if (r.issuedToken)
                    what += ` -> ${short(r.issuedToken)}`;
                if (r.checkRun)
                    what += ` => cr ${r.checkRun.id} ${r.checkRun.status}/` +
                        `${r.checkRun.conclusion ?? '-'}`;
                const why = !r.auth.ok && r.route ? ` [auth: ${r.auth.why}]`
                    : '';
                const errs = r.schemaErrors.length > 0 ? ` [schema: ${
                    r.schemaErrors.join('; ').slice(0, 400)}]` : '';
                return `  #${r.seq} +${r.time - t0}ms [conn :${r.conn.port}` +
                    ` req ${r.conn.n}] ${r.method} ${r.url} ` +
                    `(${auth}) -> ${a}${r.fault ? ' (injected)' : ''}${what}` +
                    `${why}${errs}`;
            });
            const crs = gh.checkRuns().map((c) => `  cr ${c.id} ${c.repo}@${
                c.head_sha?.slice(0, 8)} ${c.name} ext=${c.external_id} ` +
                `${c.status}/${c.conclusion ?? '-'} ann=${
                    c.annotations.length} transitions=${c.transitions.map(
                    (x) => `#${x.seq}:${x.status}/${x.conclusion ?? '-'}`)
                    .join(',')}`);
            return `${lines.join('\n') || '  (no requests)'}\n  -- check ` +
                `runs --\n${crs.join('\n') || '  (none)'}`;
        },
        async close() {
            waiters.clear();
            for (const tm of timers)
                clearTimeout(tm);
            timers.clear();
            if (listening) {
                listening = false;
                const closed = new Promise((r) => server.close(() => r()));
                for (const s of sockets)
                    s.destroy();
                await closed;
            }
        },
    };
    return gh;
}

// Problems with what GitHub shows for check runs, per run of paved: runs is
// a list of paved runs ({id, repo, sha, pipeline, state}); each must have
// exactly one check run (external_id = its id) on its SHA named
// paved/<pipeline>, completed once with the conclusion of its state, never
// reopened, its conclusion never changed afterwards.
export const conclusionOf = (state) => ({ success: 'success',
    failure: 'failure', error: 'failure', cancelled: 'cancelled' })[state];

export function checkRunProblems(gh, runs, { publicUrl } = {}) {
    const out = [];
    for (const r of runs) {
        const crs = gh.find({ repo: r.repo, external_id: r.id });
        const k = `run ${r.id} (${r.repo}@${String(r.sha).slice(0, 8)} ` +
            `paved/${r.pipeline} ${r.state})`;
        if (crs.length !== 1) {
            out.push(`${k}: ${crs.length} check runs (${crs.map((c) =>
                c.id)})`);
            if (crs.length === 0)
                continue;
        }
        const c = crs[0];
        if (c.head_sha !== r.sha)
            out.push(`${k}: head_sha ${c.head_sha}`);
        if (c.name !== `paved/${r.pipeline}`)
            out.push(`${k}: name ${c.name}`);
        const want = conclusionOf(r.state);
        if (c.status !== 'completed' || c.conclusion !== want)
            out.push(`${k}: shows ${c.status}/${c.conclusion ?? '-'}, want ` +
                `completed/${want}`);
        const done = c.transitions.filter((x) => x.status === 'completed');
        if (done.length > 1)
            out.push(`${k}: completed ${done.length} times (${done.map((x) =>
                `#${x.seq}:${x.conclusion}`)})`);
        const firstDone = c.transitions.findIndex((x) =>
            x.status === 'completed');
        if (firstDone >= 0 && firstDone < c.transitions.length - 1)
            out.push(`${k}: reopened after completion: ${c.transitions.map(
                (x) => `#${x.seq}:${x.status}/${x.conclusion ?? '-'}`)}`);
        if (publicUrl && c.details_url !== `${publicUrl}/api/v1/runs/${r.id}`)
            out.push(`${k}: details_url ${c.details_url}`);
    }
    // a check run that belongs to no run given (a duplicate with another
    // external_id, or none)
    const ids = new Set(runs.map((r) => String(r.id)));
    for (const c of gh.checkRuns()) {
        if (!ids.has(String(c.external_id)) && runs.some((r) =>
            r.repo === c.repo && r.sha === c.head_sha &&
            `paved/${r.pipeline}` === c.name))
            out.push(`check run ${c.id} ${c.name} on ${c.head_sha?.slice(0,
                8)}: external_id ${c.external_id} is no run of it`);
    }
    return out;
}

// A scenario (lib/runs.js) with a fake GitHub App started first and closed
// after; the App's private key is written to <test dir>/app-key.pem
// (ctx.keyFile). On failure the error carries the fake's request log.
export async function withAppForge(t, opts, fn) {
    const { scenario } = await import('./runs.js');
    const { addContext } = await import('./forge.js');
    const gh = await startGhAppForge(opts);
    try {
        await scenario(t, async (ctx) => {
            ctx.keyFile = gh.writeKeyFile(ctx.tmp);
            try {
                await fn(ctx, gh);
            } catch (e) {
                addContext(e, `--- fake GitHub App requests (t0 ${new Date(
                    gh.t0).toISOString()}) ---\n${gh.describe()}`);
                throw e;
            }
        });
    } finally {
        await gh.close();
    }
}
