// What the normalized event of a delivery must say, computed from the forge's
// own payload (never hard-coded per file), so each example checks itself.
// Only fields the contract names are asserted; a field the payload does not
// carry must be absent or empty in the normalized event.
import assert from 'node:assert/strict';

const ZERO = /^0{40}$/;

function refParts(ref) {
    if (typeof ref !== 'string')
        return {};
    if (ref.startsWith('refs/tags/'))
        return { kind: 'tag', tag: ref.slice('refs/tags/'.length) };
    if (ref.startsWith('refs/heads/'))
        return { kind: 'push', branch: ref.slice('refs/heads/'.length) };
    return {};
}

// GitHub and Gitea/Forgejo share the payload shapes for these events.
export function expectGithubLike(forge, event, p, delivery) {
    const e = { forge, name: event, delivery };
    if (p.repository && p.repository.full_name)
        e.repo = p.repository.full_name;
    if (p.repository && p.repository.clone_url)
        e.clone_url = p.repository.clone_url;
    if (p.sender && p.sender.login)
        e.actor = p.sender.login;
    switch (event) {
    case 'push': {
        const rp = refParts(p.ref);
        e.kind = rp.kind;
        e.ref = p.ref;
        e.sha = p.after;
        e.before = p.before;
        if (rp.tag !== undefined)
            e.tag = rp.tag;
        if (rp.branch !== undefined)
            e.branch = rp.branch;
        if (p.deleted === true || ZERO.test(p.after ?? ''))
            e.deleted = true;
        break;
    }
    case 'create':
    case 'delete':
        e.kind = event;
        if (p.ref_type === 'tag') {
            e.ref = `refs/tags/${p.ref}`;
            e.tag = p.ref;
        } else {
            e.ref = `refs/heads/${p.ref}`;
            e.branch = p.ref;
        }
        if (event === 'delete')
            e.deleted = true;
        break;
    case 'pull_request':
        e.kind = 'pull_request';
        e.action = p.action;
        e.pr_number = p.number;
        e.sha = p.pull_request.head.sha;
        e.pr_base = p.pull_request.base.ref;
        e.pr_head = p.pull_request.head.ref;
        e.branch = p.pull_request.head.ref; // event.h: a PR's head branch
        e.pr_title = p.pull_request.title;
        break;
    case 'release':
        e.kind = 'release';
        e.action = p.action;
        e.tag = p.release.tag_name;
        break;
    case 'ping':
        e.kind = 'ping';
        break;
    default:
        e.kind = 'other';
    }
    return e;
}

const GITLAB_EVENTS = {
    'Push Hook': 'push',
    'Tag Push Hook': 'tag',
    'Merge Request Hook': 'pull_request',
    'Release Hook': 'release',
};

export function gitlabEventName(p) {
    switch (p.object_kind) {
    case 'push': return 'Push Hook';
    case 'tag_push': return 'Tag Push Hook';
    case 'merge_request': return 'Merge Request Hook';
    case 'release': return 'Release Hook';
    default: throw new Error(`no GitLab event for ${p.object_kind}`);
    }
}

export function expectGitlab(event, p, delivery) {
    const e = { forge: 'gitlab', name: event, delivery,
        kind: GITLAB_EVENTS[event] };
    e.repo = p.project.path_with_namespace;
    e.clone_url = p.project.git_http_url;
    switch (e.kind) {
    case 'push':
    case 'tag': {
        const rp = refParts(p.ref);
        e.ref = p.ref;
        e.sha = p.after;
        e.before = p.before;
        if (rp.tag !== undefined)
            e.tag = rp.tag;
        if (rp.branch !== undefined)
            e.branch = rp.branch;
        break;
    }
    case 'pull_request': {
        const oa = p.object_attributes;
        e.pr_number = oa.iid;
        e.sha = oa.last_commit.id;
        e.pr_base = oa.target_branch;
        e.pr_head = oa.source_branch;
        e.branch = oa.source_branch;
        e.pr_title = oa.title;
        // paved gives every forge's actions GitHub's names
        e.action = { open: 'opened', reopen: 'reopened', close: 'closed',
            merge: 'closed',
            update: oa.oldrev ? 'synchronize' : 'edited' }[oa.action] ??
            oa.action;
        break;
    }
    case 'release':
        e.tag = p.tag;
        break;
    default:
        break;
    }
    return e;
}

// Compares every expected key; `label` names the example in the message.
export function assertNormalized(actual, expected, label) {
    assert.ok(actual && typeof actual === 'object',
        `${label}: no normalized event object in ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) {
        if (v === undefined)
            continue;
        assert.deepEqual(actual[k], v,
            `${label}: normalized.${k} is ${JSON.stringify(actual[k])}, ` +
            `want ${JSON.stringify(v)}`);
    }
    // A tag event is not also a branch and vice versa.
    if (expected.tag !== undefined && expected.branch === undefined &&
        expected.kind !== 'pull_request')
        assert.ok(actual.branch === undefined || actual.branch === null ||
            actual.branch === '', `${label}: tag event has branch ` +
            `${JSON.stringify(actual.branch)}`);
    if (expected.branch !== undefined && expected.tag === undefined)
        assert.ok(actual.tag === undefined || actual.tag === null ||
            actual.tag === '', `${label}: branch event has tag ` +
            `${JSON.stringify(actual.tag)}`);
    if (expected.deleted !== true && actual.deleted !== undefined)
        assert.notEqual(actual.deleted, true,
            `${label}: deleted is true but the payload removed nothing`);
}
