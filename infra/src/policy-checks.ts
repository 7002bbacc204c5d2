/**
 * The policy suite: security and reliability rules checked on synthesized Terraform JSON (a
 * `cdk.tf.json`), so they hold for whatever the specs and constructs produce. Pure: JSON in, a list
 * of breaches out, each naming the rule, the resource and what is wrong.
 *
 * What is checked (README "Policy suite" has the rationale):
 * - IAM, every policy document of the stack (role inline and managed policies, trust policies,
 *   bucket / queue / topic policies, KMS key policies, aws_iam_policy_document data sources):
 *   Allow statements grant no wildcard action (`*`, `s3:*`, `s3:Get*`, `s3:GetObjec?`) and use no
 *   NotAction / NotResource; a wildcard resource (Resource "*", or an ARN naming every resource of
 *   its type: `arn:aws:s3:::*`, every bucket's objects, `table/*`, `function:*`) only as an
 *   allow-list entry permits; no Allow to Principal "*" without a source condition, nor to a
 *   service principal in a resource or key policy without aws:SourceArn / aws:SourceAccount (the
 *   confused deputy); GitHub OIDC trust pinned by audience and an exact subject. Deny statements
 *   may use wildcards: they only take away. Lambda permissions for a service name its source
 *   (source_arn or source_account; S3, whose bucket ARNs hold no account, source_account). No Allow
 *   of a tagging action under an `…IfExists` condition on `aws:ResourceTag/…` (an untagged resource
 *   passes it, so whoever holds it can tag, and so claim, any untagged resource); no KMS write action
 *   in a deploy role's policies (a role GitHub OIDC can assume).
 * - S3: every bucket has a public access block with all four flags, a default encryption
 *   configuration, a bucket policy denying requests without TLS on the bucket and its objects, and
 *   versioning enabled when some policy lets anything write objects into it (or Firehose delivers).
 * - Encryption at rest: SQS (SSE-SQS or KMS), DynamoDB (explicit server_side_encryption), Firehose
 *   Direct PUT (server_side_encryption), SNS (a KMS key), Kinesis streams (KMS), KMS keys rotate.
 *   Log groups: a finite retention. Their encryption is not required: CloudWatch Logs always
 *   encrypts at rest (service-managed keys); a KMS key would add key grants for the Logs service only.
 * - Lambda environments: no secret-looking names (unless `*_ARN` / `*_NAME` holding an ARN or
 *   parameter name) and no secret-looking values (access key ids, PEM blocks, passwords in URLs,
 *   long base64 runs, known token formats).
 * - Failure handling: every asynchronously invoked function (invoke config, EventBridge target,
 *   S3 notification, async-service permission) has an on-failure destination that is an SQS queue
 *   of the stack with an alarm on it; every Kafka (and SQS / stream) mapping has an on-failure
 *   destination where the source supports one, with the same alarm; every alarm has actions.
 * - Timeouts: every function sets one (1–900 s, Lambda's limit, which also bounds async and
 *   EventBridge invocations); an SQS-triggered function's timeout is at most the queue's visibility
 *   timeout; a Kafka-triggered function's timeout is above the mapping's batching window.
 * - Every function writes to a log group of the stack (else Lambda creates one that never expires).
 * - The AWS provider tags everything through default_tags with project and stage; every function
 *   carries git_sha, the commit its code is from.
 */
import { byCodePoint } from '@laminar/spec';
import { type AllowListEntry, type PolicyKind, WILDCARD_RESOURCE_ALLOWLIST } from './policy-allowlist.ts';

export type RuleId =
  | 'iam-unparsable'
  | 'iam-wildcard-action'
  | 'iam-not-action'
  | 'iam-wildcard-resource'
  | 'iam-public-principal'
  | 'iam-service-principal-unscoped'
  | 'iam-oidc-trust'
  | 'iam-tag-if-exists'
  | 'deploy-kms-write'
  | 's3-public-access-block'
  | 's3-encryption'
  | 's3-tls-only'
  | 'sqs-tls-only'
  | 'sns-tls-only'
  | 's3-versioning'
  | 'sqs-encryption'
  | 'dynamodb-encryption'
  | 'firehose-encryption'
  | 'sns-encryption'
  | 'kinesis-encryption'
  | 'kms-rotation'
  | 'log-retention'
  | 'lambda-log-group'
  | 'lambda-env-secret'
  | 'async-on-failure'
  | 'mapping-on-failure'
  | 'mapping-one-topic'
  | 'failure-alarm'
  | 'alarm-actions'
  | 'lambda-timeout'
  | 'default-tags';

export interface Breach {
  rule: RuleId;
  /** `type.logical_id (name)`. */
  resource: string;
  message: string;
}

type Json = Record<string, unknown>;
/** The parts of a cdk.tf.json the checks read. */
export interface TerraformJson {
  resource?: Record<string, Record<string, Json>>;
  data?: Record<string, Record<string, Json>>;
  provider?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CheckOptions {
  allowList?: readonly AllowListEntry[];
}

/** Runs every rule over one stack. Breaches come out sorted by rule, then resource. */
export function checkStack(json: TerraformJson, options: CheckOptions = {}): Breach[] {
  const ctx = new Context(json, options.allowList ?? WILDCARD_RESOURCE_ALLOWLIST);
  ctx.iam();
  ctx.buckets();
  ctx.encryption();
  ctx.logs();
  ctx.lambdaEnvironment();
  ctx.failureHandling();
  ctx.timeouts();
  ctx.tags();
  return ctx.breaches.sort((a, b) => byCodePoint(a.rule, b.rule) || byCodePoint(a.resource, b.resource) || byCodePoint(a.message, b.message));
}

/** One line per breach, for test failures and the CLI. */
export function formatBreaches(stack: string, breaches: readonly Breach[]): string {
  if (breaches.length === 0) return `${stack}: no policy breaches`;
  return [`${stack}: ${breaches.length} policy breach${breaches.length === 1 ? '' : 'es'}`, ...breaches.map((b) => `  [${b.rule}] ${b.resource}: ${b.message}`)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Policy documents

/** A statement in one shape, whether it came from JSON or from an aws_iam_policy_document. */
export interface Statement {
  sid?: string;
  effect: 'Allow' | 'Deny';
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  /** "*" for Principal "*"; otherwise type → identifiers (AWS, Service, Federated). */
  principals?: '*' | Record<string, string[]>;
  notPrincipals?: boolean;
  /** Flattened: one entry per operator and key. */
  conditions: Array<{ op: string; key: string; values: string[] }>;
}

export interface PolicySource {
  kind: PolicyKind;
  /** Resource that holds the document. */
  where: string;
  /** The role an inline policy is part of (its label): where says so only in words. */
  inlineOf?: string;
  statements: Statement[];
}

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map((x) => String(x)));

/** Parses a policy JSON document (as IAM accepts it) into statements. Throws on malformed input. */
export function parsePolicy(text: string): Statement[] {
  const doc = JSON.parse(text) as { Statement?: unknown };
  const raw = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  return raw.map((s: Json) => {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new Error(`statement without Effect Allow/Deny: ${JSON.stringify(s)}`);
    const principal = s.Principal ?? s.NotPrincipal;
    const conditions: Statement['conditions'] = [];
    for (const [op, body] of Object.entries((s.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
      for (const [key, values] of Object.entries(body)) conditions.push({ op, key, values: list(values) ?? [] });
    }
    return {
      ...(typeof s.Sid === 'string' ? { sid: s.Sid } : {}),
      effect: s.Effect,
      ...(s.Action !== undefined ? { actions: list(s.Action) } : {}),
      ...(s.NotAction !== undefined ? { notActions: list(s.NotAction) } : {}),
      ...(s.Resource !== undefined ? { resources: list(s.Resource) } : {}),
      ...(s.NotResource !== undefined ? { notResources: list(s.NotResource) } : {}),
      ...(principal !== undefined
        ? {
            principals:
              principal === '*'
                ? ('*' as const)
                : Object.fromEntries(Object.entries(principal as Record<string, unknown>).map(([k, v]) => [k, list(v) ?? []])),
          }
        : {}),
      ...(s.NotPrincipal !== undefined ? { notPrincipals: true } : {}),
      conditions,
    } as Statement;
  });
}

/** Statements of an aws_iam_policy_document data source (its HCL-shaped blocks). */
function policyDocumentStatements(data: Json): Statement[] {
  const raw = Array.isArray(data.statement) ? data.statement : data.statement ? [data.statement] : [];
  return (raw as Json[]).map((s) => {
    const principals = (Array.isArray(s.principals) ? s.principals : s.principals ? [s.principals] : []) as Json[];
    const conditions = (Array.isArray(s.condition) ? s.condition : s.condition ? [s.condition] : []) as Json[];
    const byType: Record<string, string[]> = {};
    let star = false;
    for (const p of principals) {
      const ids = list(p.identifiers) ?? [];
      if (p.type === '*' || (p.type === 'AWS' && ids.includes('*'))) star = true;
      byType[String(p.type)] = [...(byType[String(p.type)] ?? []), ...ids];
    }
    return {
      effect: s.effect === 'Deny' ? 'Deny' : 'Allow',
      ...(s.actions !== undefined ? { actions: list(s.actions) } : {}),
      ...(s.not_actions !== undefined ? { notActions: list(s.not_actions) } : {}),
      ...(s.resources !== undefined ? { resources: list(s.resources) } : {}),
      ...(s.not_resources !== undefined ? { notResources: list(s.not_resources) } : {}),
      ...(principals.length > 0 ? { principals: star ? ('*' as const) : byType } : {}),
      ...(s.not_principals !== undefined ? { notPrincipals: true } : {}),
      conditions: conditions.map((c) => ({ op: String(c.test), key: String(c.variable), values: list(c.values) ?? [] })),
    } as Statement;
  });
}

/** Where documents live: resource type → attribute and kind. */
const POLICY_ATTRIBUTES: ReadonlyArray<{ type: string; attr: string; kind: PolicyKind }> = [
  { type: 'aws_iam_role', attr: 'assume_role_policy', kind: 'trust' },
  { type: 'aws_iam_role_policy', attr: 'policy', kind: 'identity' },
  { type: 'aws_iam_policy', attr: 'policy', kind: 'identity' },
  { type: 'aws_iam_user_policy', attr: 'policy', kind: 'identity' },
  { type: 'aws_iam_group_policy', attr: 'policy', kind: 'identity' },
  { type: 'aws_s3_bucket_policy', attr: 'policy', kind: 'resource' },
  { type: 'aws_sqs_queue_policy', attr: 'policy', kind: 'resource' },
  { type: 'aws_sqs_queue', attr: 'policy', kind: 'resource' },
  { type: 'aws_sns_topic_policy', attr: 'policy', kind: 'resource' },
  { type: 'aws_sns_topic', attr: 'policy', kind: 'resource' },
  { type: 'aws_secretsmanager_secret_policy', attr: 'policy', kind: 'resource' },
  { type: 'aws_kms_key', attr: 'policy', kind: 'key' },
];

const GITHUB_OIDC = 'token.actions.githubusercontent.com';
/** Services that invoke Lambda asynchronously through a resource-based permission. */
const ASYNC_PRINCIPALS = new Set(['events.amazonaws.com', 's3.amazonaws.com', 'sns.amazonaws.com', 'logs.amazonaws.com', 'ses.amazonaws.com', 'iot.amazonaws.com']);
/** Conditions that pin a "*" principal to this account or a source. */
const SOURCE_CONDITIONS = new Set(['aws:sourceaccount', 'aws:sourceowner', 'aws:sourcearn', 'aws:principalaccount', 'aws:principalorgid', 'aws:sourceorgid']);
/**
 * Conditions that pin what a service principal acts for to this account's resources: without one,
 * any account's bucket, rule or alarm can have the service act on ours (the confused deputy).
 */
const SERVICE_SOURCE_CONDITIONS = new Set(['aws:sourcearn', 'aws:sourceaccount']);
/** IAM's wildcards, in actions and resources alike: `*` any run of characters, `?` any one. */
const WILDCARD = /[*?]/;
/** Actions that set tags on a resource (TagResource, TagRole, TagQueue…, PutBucketTagging…). */
const TAGGING = /:(Tag[A-Za-z]*|Put[A-Za-z]*Tagging)$/;
/** KMS calls that change nothing: all a deploy role could ever need of KMS, which today is none. */
const KMS_READ = /^kms:(Describe|Get|List)[A-Za-z]*$/;
/** Object-writing S3 actions: a bucket anyone may write into must be versioned. */
const S3_WRITE = /^s3:(PutObject|DeleteObject|RestoreObject|ReplicateObject|ReplicateDelete|\*|Put\*|\*Object)/;
const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/;
const SECRET_VALUES: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, what: 'an AWS access key id' },
  { pattern: /-----BEGIN [A-Z ]*-----/, what: 'a PEM block (key or certificate)' },
  { pattern: /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, what: 'a password in a URL' },
  { pattern: /(password|passwd|pwd|secret|token|api_?key)=/i, what: 'a password or token parameter' },
  { pattern: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})/, what: 'an API token' },
];
/** A run of base64 at least 40 long with upper, lower and digits: key material, not a word or path. */
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/g;

class Context {
  readonly breaches: Breach[] = [];
  readonly resources: Record<string, Record<string, Json>>;
  readonly data: Record<string, Record<string, Json>>;

  constructor(
    readonly json: TerraformJson,
    readonly allowList: readonly AllowListEntry[],
  ) {
    this.resources = json.resource ?? {};
    this.data = json.data ?? {};
  }

  breach(rule: RuleId, resource: string, message: string): void {
    this.breaches.push({ rule, resource, message });
  }

  of(type: string): Array<[string, Json]> {
    return Object.entries(this.resources[type] ?? {}).sort(([a], [b]) => byCodePoint(a, b));
  }

  /** `type.id (name)` for messages. */
  label(type: string, id: string): string {
    const r = this.resources[type]?.[id] ?? {};
    const name = r.name ?? r.function_name ?? r.bucket ?? r.alarm_name ?? r.dashboard_name ?? r.role;
    return typeof name === 'string' && !name.startsWith('${') ? `${type}.${id} (${name})` : `${type}.${id}`;
  }

  /** The logical id of a `${type.<id>.<attr>}` reference (whole string or its start), or a literal's owner by name. */
  refId(value: unknown, type: string, nameAttr?: string): string | undefined {
    if (typeof value !== 'string') return undefined;
    const m = new RegExp(`^\\$\\{${type}\\.([^.}]+)\\.[a-z_]+\\}`).exec(value);
    if (m) return m[1];
    if (nameAttr) {
      for (const [id, r] of this.of(type)) if (r[nameAttr] === value) return id;
    }
    return undefined;
  }

  // --- IAM ---------------------------------------------------------------------------------

  private sources?: PolicySource[];

  /** Every policy document of the stack, parsed once (unreadable ones are breaches). */
  policySources(): PolicySource[] {
    if (this.sources) return this.sources;
    const out: PolicySource[] = [];
    this.sources = out;
    const add = (kind: PolicyKind, where: string, text: unknown, inlineOf?: string) => {
      if (typeof text !== 'string') return;
      const of = inlineOf === undefined ? {} : { inlineOf };
      const ref = /^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$/.exec(text);
      if (ref) {
        const doc = this.data.aws_iam_policy_document?.[ref[1] as string];
        if (doc) out.push({ kind, where, ...of, statements: policyDocumentStatements(doc) });
        else this.breach('iam-unparsable', where, `refers to a policy document ${text} that is not in the stack`);
        return;
      }
      try {
        out.push({ kind, where, ...of, statements: parsePolicy(text) });
      } catch (err) {
        this.breach('iam-unparsable', where, `policy is not a JSON policy document the suite can read (${(err as Error).message})`);
      }
    };
    for (const { type, attr, kind } of POLICY_ATTRIBUTES) {
      for (const [id, r] of this.of(type)) add(kind, this.label(type, id), r[attr]);
    }
    for (const [id, r] of this.of('aws_iam_role')) {
      const inline = (Array.isArray(r.inline_policy) ? r.inline_policy : r.inline_policy ? [r.inline_policy] : []) as Json[];
      const role = this.label('aws_iam_role', id);
      for (const p of inline) add('identity', `${role} inline ${String(p.name)}`, p.policy, role);
    }
    return out;
  }

  /** The `where` of each identity policy (inline, role policy, attached managed policy) of a deploy role: a role GitHub OIDC may assume. */
  deployRolePolicies(): Set<string> {
    const roles = new Set(
      this.policySources()
        .filter((p) => p.kind === 'trust')
        .filter((p) =>
          p.statements.some((s) => s.effect === 'Allow' && s.principals !== undefined && s.principals !== '*' && (s.principals.Federated ?? []).some((f) => f.includes(GITHUB_OIDC))),
        )
        .map((p) => p.where),
    );
    const ofDeployRole = (role: unknown) => {
      const id = this.refId(role, 'aws_iam_role', 'name');
      return id !== undefined && roles.has(this.label('aws_iam_role', id));
    };
    const out = new Set<string>();
    for (const [id, p] of this.of('aws_iam_role_policy')) if (ofDeployRole(p.role)) out.add(this.label('aws_iam_role_policy', id));
    for (const [, a] of this.of('aws_iam_role_policy_attachment')) {
      const policy = this.refId(a.policy_arn, 'aws_iam_policy', 'arn');
      if (policy && ofDeployRole(a.role)) out.add(this.label('aws_iam_policy', policy));
    }
    for (const source of this.policySources()) if (source.inlineOf !== undefined && roles.has(source.inlineOf)) out.add(source.where);
    return out;
  }

  iam(): void {
    const deploy = this.deployRolePolicies();
    for (const source of this.policySources()) {
      source.statements.forEach((s, i) => {
        this.statement(source, s, i, deploy.has(source.where));
      });
    }
    this.lambdaPermissions();
  }

  statement(source: PolicySource, s: Statement, index: number, deployRole = false): void {
    const where = source.where;
    const which = `statement ${s.sid ? `"${s.sid}"` : `#${index + 1}`}`;
    if (s.effect === 'Deny') return; // Wildcards in a Deny take away more, never grant.
    const tagging = (s.actions ?? []).filter((a) => TAGGING.test(a));
    const ifExists = s.conditions.filter((c) => /IfExists$/i.test(c.op) && c.key.toLowerCase().startsWith('aws:resourcetag/'));
    for (const c of tagging.length > 0 ? ifExists : []) {
      this.breach(
        'iam-tag-if-exists',
        where,
        `${which} allows ${tagging.join(', ')} under ${c.op} ${c.key}, which a resource without that tag passes: whoever holds it can tag, and so claim, any untagged resource; require the tag without IfExists`,
      );
    }
    const kmsWrites = deployRole ? (s.actions ?? []).filter((a) => a.toLowerCase().startsWith('kms:') && !KMS_READ.test(a)) : [];
    if (kmsWrites.length > 0) {
      this.breach('deploy-kms-write', where, `${which} allows ${kmsWrites.join(', ')} to a deploy role; deploy roles get no KMS write rights (the bootstrap stack creates the stage's key)`);
    }
    if (s.notActions) this.breach('iam-not-action', where, `${which} uses NotAction (allows every other action); list the actions`);
    if (s.notResources) this.breach('iam-not-action', where, `${which} uses NotResource (allows every other resource); list the resources`);
    if (s.notPrincipals) this.breach('iam-not-action', where, `${which} uses NotPrincipal with Allow`);
    const wildcardActions = (s.actions ?? []).filter((a) => WILDCARD.test(a));
    for (const a of wildcardActions) {
      this.breach('iam-wildcard-action', where, `${which} allows wildcard action "${a}"; grant the exact actions instead`);
    }
    if (source.kind !== 'trust') this.wildcardResources(source, s, which);
    if (s.principals !== undefined) {
      const star = s.principals === '*' || (s.principals.AWS ?? []).includes('*');
      const pinned = s.conditions.some((c) => SOURCE_CONDITIONS.has(c.key.toLowerCase()) && pinsValue(c));
      if (star && !pinned) this.breach('iam-public-principal', where, `${which} allows Principal "*" without a source account / ARN condition`);
      // A service acting on a bucket, queue, topic or key on behalf of whichever resource triggered it.
      // Trust policies are not resource policies of this kind: a service assuming a role acts for that role.
      const services = s.principals === '*' ? [] : (s.principals.Service ?? []);
      if ((source.kind === 'resource' || source.kind === 'key') && services.length > 0) {
        const pins = (keys: ReadonlySet<string>) => s.conditions.some((c) => keys.has(c.key.toLowerCase()) && pinsValue(c));
        const actions = (s.actions ?? []).join(', ') || '(no actions)';
        if (!pins(SERVICE_SOURCE_CONDITIONS)) {
          this.breach(
            'iam-service-principal-unscoped',
            where,
            `${which} allows ${actions} to service principal ${services.join(', ')} without an aws:SourceArn or aws:SourceAccount condition: ` +
              "any account's resources could have the service act here (confused deputy)",
          );
        } else if (services.some((p) => p.startsWith('s3.')) && !pins(new Set(['aws:sourceaccount']))) {
          this.breach(
            'iam-service-principal-unscoped',
            where,
            `${which} allows ${actions} to s3.amazonaws.com without an aws:SourceAccount condition: a bucket ARN names no account, and a deleted bucket's name can be taken by another account`,
          );
        }
      }
      const federated = s.principals === '*' ? [] : (s.principals.Federated ?? []);
      if (federated.some((f) => f.includes(GITHUB_OIDC))) this.oidcTrust(where, which, s);
    }
  }

  /**
   * Wildcard resources of an Allow pass only where one allow-list entry, for this kind of policy,
   * covers the resource and every action of the statement, and the statement has the entry's conditions.
   */
  wildcardResources(source: PolicySource, s: Statement, which: string): void {
    const wide = (s.resources ?? []).filter(isWildcardResource);
    if (wide.length === 0) return;
    const where = source.where;
    const actions = s.actions ?? [];
    const keys = new Set(s.conditions.map((c) => c.key.toLowerCase()));
    const absentOf = (e: AllowListEntry) => (e.requireConditions ?? []).filter((k) => !keys.has(k.toLowerCase()));
    const candidates = this.allowList.filter((e) => e.kinds.includes(source.kind) && actions.length > 0 && actions.every((a) => e.actions.includes(a)));
    const uncovered = wide.filter((r) => !candidates.some((e) => allowListCovers(e, r)));
    if (uncovered.length > 0) {
      const listed = new Set(this.allowList.filter((e) => e.kinds.includes(source.kind) && uncovered.every((r) => allowListCovers(e, r))).flatMap((e) => e.actions));
      const missing = actions.filter((a) => !listed.has(a));
      this.breach(
        'iam-wildcard-resource',
        where,
        `${which} allows ${actions.join(', ') || '(no actions)'} on Resource "${uncovered.join('", "')}"` +
          (missing.length > 0 ? `; not in policy-allowlist.ts: ${missing.join(', ')}` : '; no single allow-list entry covers them all'),
      );
      return;
    }
    const reported = new Set<string>();
    for (const r of wide) {
      const covering = candidates.filter((e) => allowListCovers(e, r));
      if (covering.some((e) => absentOf(e).length === 0)) continue;
      const entry = covering[0] as AllowListEntry;
      if (reported.has(entry.id)) continue;
      reported.add(entry.id);
      this.breach('iam-wildcard-resource', where, `${which} is allow-listed as "${entry.id}" only with condition ${absentOf(entry).join(', ')}`);
    }
  }

  /**
   * A Lambda permission is the function's resource policy, one statement per resource: a service may
   * invoke only on behalf of a named source, and nobody may through principal "*" without one.
   */
  lambdaPermissions(): void {
    for (const [id, p] of this.of('aws_lambda_permission')) {
      const where = this.label('aws_lambda_permission', id);
      const principal = String(p.principal ?? '');
      const has = (attr: string) => typeof p[attr] === 'string' && p[attr] !== '' && !/^[*?]+$/.test(p[attr] as string);
      const action = String(p.action ?? '');
      if (WILDCARD.test(action)) this.breach('iam-wildcard-action', where, `allows wildcard action "${action}"; grant the exact actions instead`);
      if (principal === '*') {
        if (!has('source_arn') && !has('source_account') && !has('principal_org_id')) {
          this.breach('iam-public-principal', where, 'lets principal "*" invoke the function with no source_arn, source_account or principal_org_id');
        }
      } else if (isServicePrincipal(principal)) {
        if (!has('source_arn') && !has('source_account')) {
          this.breach(
            'iam-service-principal-unscoped',
            where,
            `lets ${principal} invoke the function with neither source_arn nor source_account: any account's resources could have the service invoke it (confused deputy)`,
          );
        } else if (principal.startsWith('s3.') && !has('source_account')) {
          this.breach(
            'iam-service-principal-unscoped',
            where,
            'lets s3.amazonaws.com invoke the function without source_account: a bucket ARN names no account, and a deleted bucket\'s name can be taken by another account',
          );
        }
      }
    }
  }

  /** A GitHub OIDC trust must pin the audience and one exact subject (repository + environment or ref). */
  oidcTrust(where: string, which: string, s: Statement): void {
    const exact = (key: string) => s.conditions.filter((c) => c.key === `${GITHUB_OIDC}:${key}` && c.op === 'StringEquals');
    const aud = exact('aud');
    if (aud.length === 0 || aud.some((c) => c.values.length !== 1 || c.values[0] !== 'sts.amazonaws.com')) {
      this.breach('iam-oidc-trust', where, `${which} must require StringEquals ${GITHUB_OIDC}:aud = sts.amazonaws.com`);
    }
    const sub = exact('sub');
    const loose = s.conditions.filter((c) => c.key === `${GITHUB_OIDC}:sub` && c.op !== 'StringEquals');
    if (sub.length === 0 || loose.length > 0 || sub.some((c) => c.values.some((v) => v.includes('*') || !v.startsWith('repo:')))) {
      this.breach('iam-oidc-trust', where, `${which} must pin ${GITHUB_OIDC}:sub with StringEquals to exact "repo:<owner>/<name>:…" subjects (no wildcards)`);
    }
  }

  // --- S3 ----------------------------------------------------------------------------------

  /** Ids of resources of `type` whose `bucket` attribute names bucket `id` (reference or literal name). */
  forBucket(type: string, id: string): Array<[string, Json]> {
    const name = this.resources.aws_s3_bucket?.[id]?.bucket;
    return this.of(type).filter(([, r]) => this.refId(r.bucket, 'aws_s3_bucket') === id || (name !== undefined && r.bucket === name));
  }

  /** Expressions that denote bucket `id`'s ARN: its reference and, with a literal name, the literal ARN. */
  bucketArnMatcher(id: string): (resource: string) => 'bucket' | 'objects' | undefined {
    const name = this.resources.aws_s3_bucket?.[id]?.bucket;
    const heads = [`\${aws_s3_bucket.${id}.arn}`];
    return (resource) => {
      for (const head of heads) {
        if (resource === head) return 'bucket';
        if (resource.startsWith(`${head}/`)) return 'objects';
      }
      if (typeof name === 'string') {
        const m = /^arn:[^:]+:s3:::([^/]+)(\/.*)?$/.exec(resource);
        if (m && m[1] === name) return m[2] ? 'objects' : 'bucket';
      }
      return undefined;
    };
  }

  buckets(): void {
    const sources = this.policySources();
    for (const [id] of this.of('aws_s3_bucket')) {
      const where = this.label('aws_s3_bucket', id);
      const pab = this.forBucket('aws_s3_bucket_public_access_block', id);
      const flags = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'];
      if (pab.length === 0) this.breach('s3-public-access-block', where, 'no aws_s3_bucket_public_access_block');
      for (const [, r] of pab) {
        const off = flags.filter((f) => r[f] !== true);
        if (off.length > 0) this.breach('s3-public-access-block', where, `public access block leaves ${off.join(', ')} unset or false`);
      }

      const sse = this.forBucket('aws_s3_bucket_server_side_encryption_configuration', id);
      const encrypted = sse.some(([, r]) =>
        (Array.isArray(r.rule) ? r.rule : [r.rule]).some((rule: Json | undefined) => {
          const by = rule?.apply_server_side_encryption_by_default as Json | Json[] | undefined;
          const first = Array.isArray(by) ? by[0] : by;
          return typeof first?.sse_algorithm === 'string' && ['AES256', 'aws:kms', 'aws:kms:dsse'].includes(first.sse_algorithm);
        }),
      );
      if (!encrypted) this.breach('s3-encryption', where, 'no default encryption (aws_s3_bucket_server_side_encryption_configuration with apply_server_side_encryption_by_default)');

      const arnOf = this.bucketArnMatcher(id);
      const policies = this.forBucket('aws_s3_bucket_policy', id).map(([pid]) => this.label('aws_s3_bucket_policy', pid));
      const tlsOnly = sources
        .filter((s) => s.kind === 'resource' && policies.includes(s.where))
        .some((s) =>
          s.statements.some((st) => {
            if (!deniesInsecureTransport(st, ['s3:*', '*'])) return false;
            const resources = st.resources ?? [];
            const bucket = resources.some((r) => arnOf(r) === 'bucket');
            const allObjects = resources.some((r) => r.endsWith('/*') && arnOf(r.slice(0, -2)) === 'bucket');
            return bucket && allObjects;
          }),
        );
      if (!tlsOnly) {
        this.breach('s3-tls-only', where, 'no bucket policy statement denying s3:* to Principal "*" on the bucket and its objects when aws:SecureTransport is false');
      }

      const firehose = this.of('aws_kinesis_firehose_delivery_stream').some(([, r]) => {
        const s3 = (r.extended_s3_configuration ?? r.s3_configuration) as Json | undefined;
        return arnOf(String(s3?.bucket_arn ?? '')) === 'bucket';
      });
      const writers = sources
        .filter((s) => s.kind === 'identity' || s.kind === 'resource')
        .filter((s) =>
          s.statements.some(
            (st) => st.effect === 'Allow' && (st.actions ?? []).some((a) => S3_WRITE.test(a)) && (st.resources ?? []).some((r) => arnOf(r) === 'objects'),
          ),
        )
        .map((s) => s.where);
      if (firehose) writers.push('a Firehose delivery stream');
      if (writers.length > 0) {
        const versioned = this.forBucket('aws_s3_bucket_versioning', id).some(([, r]) => {
          const cfg = (Array.isArray(r.versioning_configuration) ? r.versioning_configuration[0] : r.versioning_configuration) as Json | undefined;
          return cfg?.status === 'Enabled';
        });
        if (!versioned) this.breach('s3-versioning', where, `objects are written (by ${writers.slice(0, 3).join(', ')}) but versioning is not enabled`);
      }
    }
  }

  // --- Encryption at rest --------------------------------------------------------------------

  encryption(): void {
    for (const [id, r] of this.of('aws_sqs_queue')) {
      if (r.sqs_managed_sse_enabled !== true && !r.kms_master_key_id) {
        this.breach('sqs-encryption', this.label('aws_sqs_queue', id), 'neither sqs_managed_sse_enabled = true nor kms_master_key_id');
      }
    }
    for (const [id, r] of this.of('aws_dynamodb_table')) {
      const sse = (Array.isArray(r.server_side_encryption) ? r.server_side_encryption[0] : r.server_side_encryption) as Json | undefined;
      if (sse?.enabled !== true) {
        this.breach('dynamodb-encryption', this.label('aws_dynamodb_table', id), 'server_side_encryption { enabled = true } is required (AWS managed or customer key, stated in code)');
      }
    }
    for (const [id, r] of this.of('aws_kinesis_firehose_delivery_stream')) {
      if (r.kinesis_source_configuration) continue; // Encrypted by its source stream, checked as a Kinesis stream.
      const sse = (Array.isArray(r.server_side_encryption) ? r.server_side_encryption[0] : r.server_side_encryption) as Json | undefined;
      if (sse?.enabled !== true) this.breach('firehose-encryption', this.label('aws_kinesis_firehose_delivery_stream', id), 'server_side_encryption { enabled = true } is required');
    }
    for (const [id, r] of this.of('aws_sns_topic')) {
      if (!r.kms_master_key_id) this.breach('sns-encryption', this.label('aws_sns_topic', id), 'kms_master_key_id is required');
    }
    // Encrypted in transit too: each queue's and topic's own policy refuses requests without TLS.
    for (const [id] of this.of('aws_sqs_queue')) {
      const policies = this.of('aws_sqs_queue_policy').filter(([, p]) => this.refId(p.queue_url, 'aws_sqs_queue') === id);
      if (!policies.some(([, p]) => deniesInsecure(p.policy, ['sqs:*', '*'], `\${aws_sqs_queue.${id}.arn}`))) {
        this.breach('sqs-tls-only', this.label('aws_sqs_queue', id), 'no queue policy statement denying sqs:* to Principal "*" on the queue when aws:SecureTransport is false');
      }
    }
    for (const [id] of this.of('aws_sns_topic')) {
      const policies = this.of('aws_sns_topic_policy').filter(([, p]) => this.refId(p.arn, 'aws_sns_topic') === id);
      if (!policies.some(([, p]) => deniesInsecure(p.policy, ['sns:Publish', 'sns:*', '*'], `\${aws_sns_topic.${id}.arn}`))) {
        this.breach('sns-tls-only', this.label('aws_sns_topic', id), 'no topic policy statement denying sns:Publish to Principal "*" on the topic when aws:SecureTransport is false');
      }
    }
    for (const [id, r] of this.of('aws_kinesis_stream')) {
      if (r.encryption_type !== 'KMS') this.breach('kinesis-encryption', this.label('aws_kinesis_stream', id), 'encryption_type = "KMS" is required');
    }
    for (const [id, r] of this.of('aws_kms_key')) {
      if (r.enable_key_rotation !== true) this.breach('kms-rotation', this.label('aws_kms_key', id), 'enable_key_rotation = true is required');
    }
  }

  logs(): void {
    for (const [id, r] of this.of('aws_cloudwatch_log_group')) {
      if (typeof r.retention_in_days !== 'number' || r.retention_in_days <= 0) {
        this.breach('log-retention', this.label('aws_cloudwatch_log_group', id), 'retention_in_days must be set (> 0): log groups otherwise keep everything forever');
      }
    }
    const groups = this.of('aws_cloudwatch_log_group');
    for (const [id, fn] of this.of('aws_lambda_function')) {
      const logging = (Array.isArray(fn.logging_config) ? fn.logging_config[0] : fn.logging_config) as Json | undefined;
      const named = `/aws/lambda/${String(fn.function_name)}`;
      const ok =
        this.refId(logging?.log_group, 'aws_cloudwatch_log_group', 'name') !== undefined ||
        groups.some(([, g]) => g.name === named) ||
        (typeof logging?.log_group === 'string' && groups.some(([, g]) => g.name === logging.log_group));
      if (!ok) this.breach('lambda-log-group', this.label('aws_lambda_function', id), 'writes to no log group of this stack (Lambda would create one without retention)');
    }
  }

  // --- Lambda environment ---------------------------------------------------------------------

  lambdaEnvironment(): void {
    for (const [id, fn] of this.of('aws_lambda_function')) {
      const env = (Array.isArray(fn.environment) ? fn.environment[0] : fn.environment) as Json | undefined;
      const vars = (env?.variables ?? {}) as Record<string, unknown>;
      const where = this.label('aws_lambda_function', id);
      for (const [name, raw] of Object.entries(vars).sort(([a], [b]) => byCodePoint(a, b))) {
        const value = String(raw);
        if (SECRET_NAME.test(name)) {
          const byReference = /_(ARN|NAME)$/.test(name) && isArnOrParameterName(value);
          if (!byReference) {
            this.breach(
              'lambda-env-secret',
              where,
              `environment variable ${name} looks like secret material; pass the secret by ARN (a *_ARN / *_NAME variable holding an ARN or parameter name) and read it at run time`,
            );
          }
        }
        const found = secretInValue(value);
        if (found) this.breach('lambda-env-secret', where, `environment variable ${name} holds what looks like ${found}; secrets go by ARN only`);
      }
    }
  }

  // --- Failure handling --------------------------------------------------------------------

  /** Function ids and why each is invoked asynchronously. */
  asyncFunctions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const add = (id: string | undefined, why: string) => {
      if (id) out.set(id, [...(out.get(id) ?? []), why]);
    };
    const fnId = (v: unknown) => this.refId(v, 'aws_lambda_function', 'function_name') ?? this.refId(v, 'aws_lambda_function', 'arn');
    for (const [, r] of this.of('aws_lambda_function_event_invoke_config')) add(fnId(r.function_name), 'an async invoke config');
    for (const [tid, r] of this.of('aws_cloudwatch_event_target')) add(fnId(r.arn), `EventBridge target ${tid}`);
    for (const [nid, r] of this.of('aws_s3_bucket_notification')) {
      for (const l of (Array.isArray(r.lambda_function) ? r.lambda_function : []) as Json[]) add(fnId(l.lambda_function_arn), `S3 notification ${nid}`);
    }
    for (const [pid, r] of this.of('aws_lambda_permission')) {
      if (ASYNC_PRINCIPALS.has(String(r.principal))) add(fnId(r.function_name), `permission ${pid} for ${String(r.principal)}`);
    }
    for (const [sid, r] of this.of('aws_sns_topic_subscription')) if (r.protocol === 'lambda') add(fnId(r.endpoint), `SNS subscription ${sid}`);
    return out;
  }

  /** Queue id of an on-failure destination, or a breach explaining why it cannot be proven alarmed. */
  alarmedQueue(where: string, destination: unknown, what: string): void {
    const queue = this.refId(destination, 'aws_sqs_queue', 'arn');
    if (!queue) {
      this.breach('failure-alarm', where, `${what} ${String(destination)} is not an SQS queue of this stack, so no depth alarm can be proven`);
      return;
    }
    const name = this.resources.aws_sqs_queue?.[queue]?.name;
    const alarmed = this.of('aws_cloudwatch_metric_alarm').some(([, a]) => {
      const q = (a.dimensions as Json | undefined)?.QueueName;
      return a.namespace === 'AWS/SQS' && (this.refId(q, 'aws_sqs_queue') === queue || (name !== undefined && q === name));
    });
    if (!alarmed) this.breach('failure-alarm', where, `${what} ${this.label('aws_sqs_queue', queue)} has no CloudWatch alarm (AWS/SQS, QueueName)`);
  }

  failureHandling(): void {
    const configs = this.of('aws_lambda_function_event_invoke_config');
    const fnId = (v: unknown) => this.refId(v, 'aws_lambda_function', 'function_name') ?? this.refId(v, 'aws_lambda_function', 'arn');
    for (const [id, why] of [...this.asyncFunctions()].sort(([a], [b]) => byCodePoint(a, b))) {
      const where = this.label('aws_lambda_function', id);
      const config = configs.find(([, c]) => fnId(c.function_name) === id)?.[1];
      const dest = ((config?.destination_config as Json | undefined)?.on_failure as Json | undefined)?.destination;
      if (!dest) {
        this.breach('async-on-failure', where, `is invoked asynchronously (${[...new Set(why)].join('; ')}) but has no on-failure destination (aws_lambda_function_event_invoke_config.destination_config.on_failure)`);
        continue;
      }
      this.alarmedQueue(where, dest, 'on-failure destination');
    }
    for (const [id, m] of this.of('aws_lambda_event_source_mapping')) {
      const where = this.label('aws_lambda_event_source_mapping', id);
      const source = String(m.event_source_arn ?? '');
      const kafka = m.self_managed_event_source !== undefined || m.amazon_managed_kafka_event_source_config !== undefined || /:kafka:/.test(source) || m.topics !== undefined;
      const sqs = this.refId(source, 'aws_sqs_queue', 'arn') !== undefined || /:sqs:/.test(source);
      // CreateEventSourceMapping takes exactly one Kafka topic; the provider lets a list through to apply.
      if (Array.isArray(m.topics) && m.topics.length !== 1) {
        this.breach('mapping-one-topic', where, `names ${m.topics.length} topics (${m.topics.join(', ')}): AWS takes exactly one per event source mapping`);
      }
      if (sqs) continue; // SQS sources retry through the queue and dead-letter by its redrive policy.
      const dest = ((m.destination_config as Json | undefined)?.on_failure as Json | undefined)?.destination_arn;
      if (!dest) {
        this.breach('mapping-on-failure', where, `${kafka ? 'Kafka' : 'stream'} event source mapping has no on-failure destination (destination_config.on_failure.destination_arn)`);
        continue;
      }
      this.alarmedQueue(where, dest, 'on-failure destination');
    }
    for (const [id, a] of this.of('aws_cloudwatch_metric_alarm')) {
      const actions = a.alarm_actions;
      if (!Array.isArray(actions) || actions.length === 0) {
        this.breach('alarm-actions', this.label('aws_cloudwatch_metric_alarm', id), 'has no alarm_actions: it would change state without telling anyone');
      }
    }
  }

  // --- Timeouts ----------------------------------------------------------------------------

  timeouts(): void {
    const fnId = (v: unknown) => this.refId(v, 'aws_lambda_function', 'function_name') ?? this.refId(v, 'aws_lambda_function', 'arn');
    for (const [id, fn] of this.of('aws_lambda_function')) {
      const t = fn.timeout;
      if (typeof t !== 'number' || t < 1 || t > 900) {
        this.breach('lambda-timeout', this.label('aws_lambda_function', id), `timeout ${t === undefined ? 'is not set (Lambda would use 3 s)' : `${String(t)} is outside 1–900 s`}`);
      }
    }
    for (const [id, m] of this.of('aws_lambda_event_source_mapping')) {
      const fid = fnId(m.function_name);
      const fn = fid ? this.resources.aws_lambda_function?.[fid] : undefined;
      if (!fn || typeof fn.timeout !== 'number') continue;
      const where = this.label('aws_lambda_event_source_mapping', id);
      const queue = this.refId(m.event_source_arn, 'aws_sqs_queue', 'arn');
      if (queue) {
        const visibility = this.resources.aws_sqs_queue?.[queue]?.visibility_timeout_seconds;
        const v = typeof visibility === 'number' ? visibility : 30;
        if (fn.timeout > v) {
          this.breach('lambda-timeout', where, `function timeout ${fn.timeout} s exceeds the visibility timeout ${v} s of ${this.label('aws_sqs_queue', queue)}: messages would be redelivered mid-run`);
        }
      }
      const kafka = m.self_managed_event_source !== undefined || m.amazon_managed_kafka_event_source_config !== undefined || m.topics !== undefined;
      if (kafka) {
        const window = typeof m.maximum_batching_window_in_seconds === 'number' ? m.maximum_batching_window_in_seconds : 0;
        if (fn.timeout <= window) {
          this.breach('lambda-timeout', where, `function timeout ${fn.timeout} s is not above the batching window ${window} s`);
        }
      }
    }
  }

  // --- Tags --------------------------------------------------------------------------------

  tags(): void {
    const providers = this.json.provider?.aws;
    const list = (Array.isArray(providers) ? providers : providers ? [providers] : []) as Json[];
    if (list.length === 0 && Object.keys(this.resources).some((t) => t.startsWith('aws_'))) {
      this.breach('default-tags', 'provider.aws', 'no aws provider block');
    }
    list.forEach((p, i) => {
      const dt = (Array.isArray(p.default_tags) ? p.default_tags[0] : p.default_tags) as Json | undefined;
      const tags = (dt?.tags ?? {}) as Record<string, unknown>;
      const missing = ['project', 'stage'].filter((k) => typeof tags[k] !== 'string' || tags[k] === '');
      if (missing.length > 0) this.breach('default-tags', `provider.aws[${i}]${p.alias ? ` (${String(p.alias)})` : ''}`, `default_tags lack ${missing.join(', ')}`);
    });
    for (const [name, fn] of Object.entries(this.resources.aws_lambda_function ?? {})) {
      const sha = (fn.tags as Record<string, unknown> | undefined)?.git_sha;
      if (typeof sha !== 'string' || sha === '') this.breach('default-tags', `aws_lambda_function.${name}`, 'no git_sha tag (the commit its code is from)');
    }
  }
}

/** Services whose ARNs carry no resource type: the resource part starts with the resource's own name. */
const UNTYPED_SERVICES = new Set(['sqs', 'sns', 'execute-api']);
/** Only wildcards: matches anything (or, with `?`s alone, any name of that length). */
const ONLY_WILDCARDS = /^[*?]+$/;

/** The resource with each Terraform reference (`${…}`) replaced by a literal: a reference names one thing. */
function withoutReferences(resource: string): string {
  return resource.replace(/\$\{[^}]*\}/g, 'ref');
}

/**
 * Whether a Resource names every resource of its type, rather than resources picked by name:
 * - "*" itself;
 * - an ARN with a wildcard in its service or resource type (`arn:aws:lambda:…:*:x`);
 * - an ARN whose first name segment after the resource type is only wildcards: `table/*`,
 *   `function:*`, `secret:*`, `event-source-mapping:*`, `cluster/*`, `log-group:*`. For S3
 *   buckets and objects, SQS queues, SNS topics and API Gateway execute-api there is no type: the
 *   first segment is the bucket (queue, topic, API) name, so `arn:aws:s3:::*`, every object of
 *   every bucket and `arn:aws:sqs:…:*` are wildcards.
 * Narrowed patterns pass: `…:::laminar-dev-lake/bronze/*` (one bucket's prefix), `…:::laminar-dev-*`,
 * `table/laminar-dev-*`, `database/*_dev` (a literal part in the name), a reference's `${…arn}/*` or
 * `${…arn}:*`. A wildcard region or account is not judged here.
 */
export function isWildcardResource(resource: string): boolean {
  const literal = withoutReferences(resource);
  if (ONLY_WILDCARDS.test(literal)) return true;
  const m = /^arn:[^:]*:([^:]*):([^:]*):([^:]*):(.*)$/.exec(literal);
  if (!m) return false;
  const [, service = '', region = '', account = '', rest = ''] = m;
  if (WILDCARD.test(service)) return true;
  const untyped = UNTYPED_SERVICES.has(service) || (service === 's3' && region === '' && account === '');
  const firstSegment = (text: string) => /^[^/:]*/.exec(text)?.[0] ?? '';
  if (untyped) return ONLY_WILDCARDS.test(firstSegment(rest));
  const type = firstSegment(rest);
  if (WILDCARD.test(type)) return true;
  // The name after the type and its delimiter; log group names and SSM parameters may start with "/".
  const name = rest.slice(type.length + 1).replace(/^\/+/, '');
  return ONLY_WILDCARDS.test(firstSegment(name));
}

/** Whether allow-list entry `e` covers wildcard resource `resource` (its actions and conditions aside). */
export function allowListCovers(e: AllowListEntry, resource: string): boolean {
  const literal = withoutReferences(resource);
  if (e.resources === undefined) {
    // Resource "*", or an ARN whose resource part is only "*" (arn:aws:s3:::*, arn:aws:sqs:eu-west-1:1234:*).
    return literal === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(literal);
  }
  return e.resources.some((pattern) => allowListPattern(pattern).test(literal));
}

/** An allow-list resource pattern as a regular expression: `<placeholder>` is one name without wildcards, the rest literal. */
function allowListPattern(pattern: string): RegExp {
  const source = pattern
    .split(/(<[a-z]+>)/)
    .map((part) => (/^<[a-z]+>$/.test(part) ? '[^*?:/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** A service principal (`events.amazonaws.com`), not an account id, an ARN or "*". */
function isServicePrincipal(principal: string): boolean {
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(principal) && !/^[0-9.]+$/.test(principal);
}

/**
 * Whether a condition requires its key to be present with a value that narrows anything: not
 * `…IfExists` or `ForAllValues:` (both pass a request without the key), not `Null`, not a negated
 * operator (anyone but…), not only wildcards.
 */
function pinsValue(c: { op: string; values: string[] }): boolean {
  const op = c.op.toLowerCase();
  if (op.endsWith('ifexists') || op.startsWith('forallvalues:') || op === 'null' || op.includes('not')) return false;
  return c.values.some((v) => !ONLY_WILDCARDS.test(v) && v !== '');
}

/** An ARN (literal or a Terraform reference to one) or an SSM parameter / secret name. */
function isArnOrParameterName(value: string): boolean {
  return /^arn:[^:]+:(secretsmanager|ssm|kms):/.test(value) || /^\$\{[^}]+\.(arn|id|name)\}$/.test(value) || /^\/[A-Za-z0-9_.\-/]+$/.test(value);
}

/** What a value looks like if it looks like secret material, else undefined. Terraform references are skipped. */
export function secretInValue(value: string): string | undefined {
  const literal = value.replace(/\$\{[^}]*\}/g, ' ');
  for (const { pattern, what } of SECRET_VALUES) if (pattern.test(literal)) return what;
  for (const run of literal.match(BASE64_RUN) ?? []) {
    if (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run)) return 'a long base64 blob (key material)';
  }
  return undefined;
}

/** Whether policy text holds a Deny of one of `actions` on `resource` to everyone when aws:SecureTransport is false. */
function deniesInsecure(text: unknown, actions: readonly string[], resource: string): boolean {
  if (typeof text !== 'string') return false;
  let statements: Statement[];
  try {
    statements = parsePolicy(text);
  } catch {
    return false;
  }
  return statements.some((st) => deniesInsecureTransport(st, actions) && (st.resources ?? []).includes(resource));
}

/** A Deny to everyone of one of `actions` when aws:SecureTransport is false (on whatever resources). */
function deniesInsecureTransport(st: Statement, actions: readonly string[]): boolean {
  return (
    st.effect === 'Deny' &&
    (st.principals === '*' || (st.principals !== undefined && (st.principals.AWS ?? []).includes('*'))) &&
    (st.actions ?? []).some((a) => actions.includes(a)) &&
    st.conditions.some((c) => (c.op === 'Bool' || c.op === 'BoolIfExists') && c.key.toLowerCase() === 'aws:securetransport' && c.values.map(String).includes('false'))
  );
}
