/**
 * The console's one page: plain HTML, CSS and a small script (no framework: a few tables that
 * update from an event stream do not need one). Everything is rendered with textContent, never
 * innerHTML, so log lines and object keys cannot inject markup.
 */
export function consolePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Laminar — local console</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --err: #cf222e; --muted: #6e7781; font: 14px/1.4 system-ui, sans-serif; }
  body { margin: 0; }
  header { padding: .75rem 1rem; border-bottom: 1px solid #8884; display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 1.1rem; margin: 0; }
  #live { color: var(--muted); }
  nav a { margin-right: .75rem; }
  main { padding: 0 1rem 2rem; display: grid; gap: 1.5rem; }
  section h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
  th { font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .ok { color: var(--ok); } .error, .timeout { color: var(--err); }
  .muted { color: var(--muted); }
  pre { margin: .25rem 0; padding: .5rem; background: #8881; max-height: 24rem; overflow: auto; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
  td { overflow-wrap: anywhere; }
  main { max-width: 100vw; box-sizing: border-box; }
  button { font: inherit; cursor: pointer; }
  #graph img { max-width: 100%; height: auto; background: white; }
  .scroll { max-height: 28rem; overflow: auto; }
  tr.selected { background: #8882; }
</style>
</head>
<body>
<header>
  <h1>Laminar local console</h1>
  <span id="live" role="status" aria-live="polite">connecting…</span>
  <nav aria-label="Sections"><a href="#graph">Pipeline</a><a href="#invocations">Invocations</a><a href="#functions">Functions</a><a href="#queues">Dead-letter queues</a><a href="#s3">S3</a><a href="#cost">Cost</a></nav>
</header>
<main>
  <section id="graph" aria-labelledby="graph-h">
    <h2 id="graph-h">Pipeline</h2>
    <div id="graph-body"><p class="muted">loading…</p></div>
    <details><summary>Services</summary><ul id="services"></ul></details>
  </section>

  <section id="invocations" aria-labelledby="inv-h">
    <h2 id="inv-h">Invocations <span class="muted" id="inv-count"></span></h2>
    <div class="scroll">
    <table>
      <caption class="muted">Latest first. Select a row for its log lines.</caption>
      <thead><tr><th scope="col">time</th><th scope="col">function</th><th scope="col">trigger</th><th scope="col">start</th><th scope="col" class="num">duration ms</th><th scope="col" class="num">billed ms</th><th scope="col" class="num">max memory MB</th><th scope="col">outcome</th></tr></thead>
      <tbody id="inv-rows"></tbody>
    </table>
    </div>
    <div id="inv-detail" aria-live="polite"></div>
  </section>

  <section id="functions" aria-labelledby="fn-h">
    <h2 id="fn-h">Functions</h2>
    <table>
      <thead><tr><th scope="col">function</th><th scope="col" class="num">invocations</th><th scope="col" class="num">errors</th><th scope="col" class="num">p50 ms</th><th scope="col" class="num">p95 ms</th><th scope="col" class="num">cold starts</th><th scope="col" class="num">max memory MB</th><th scope="col" class="num">GB-s billed</th><th scope="col">invoke</th></tr></thead>
      <tbody id="fn-rows"></tbody>
    </table>
  </section>

  <section id="queues" aria-labelledby="q-h">
    <h2 id="q-h">Dead-letter queues</h2>
    <div id="q-body"></div>
  </section>

  <section id="cost" aria-labelledby="cost-h">
    <h2 id="cost-h">Monthly cost estimate <button type="button" id="cost-refresh">recompute with this session's durations</button></h2>
    <p class="muted" id="cost-note"></p>
    <table>
      <thead><tr><th scope="col">function</th><th scope="col" class="num">invocations/month</th><th scope="col" class="num">duration ms</th><th scope="col">from</th><th scope="col" class="num">GB-s</th><th scope="col" class="num">Lambda $</th><th scope="col" class="num">other $</th><th scope="col" class="num">total $</th></tr></thead>
      <tbody id="cost-rows"></tbody>
    </table>
  </section>

  <section id="s3" aria-labelledby="s3-h">
    <h2 id="s3-h">S3</h2>
    <label>Bucket <select id="s3-bucket"></select></label>
    <span id="s3-path" class="muted"></span>
    <table>
      <thead><tr><th scope="col">key</th><th scope="col" class="num">size</th><th scope="col">modified</th></tr></thead>
      <tbody id="s3-rows"></tbody>
    </table>
  </section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
};
const fmt = (n, d = 0) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }));
const api = async (path, init) => {
  const res = await fetch(path, init);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
};
const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });

let invocations = [];
let selected;

function invocationRow(v) {
  const tr = el('tr', { 'data-id': v.id, 'data-function': v.functionName, tabindex: '0', class: v.id === selected ? 'selected' : '' },
    el('td', {}, new Date(v.finishedAt).toLocaleTimeString()),
    el('td', {}, v.functionName),
    el('td', {}, v.trigger + (v.attempt > 1 ? ' (attempt ' + v.attempt + ')' : '')),
    el('td', {}, v.cold ? 'cold' : 'warm'),
    el('td', { class: 'num' }, fmt(v.durationMs, 2)),
    el('td', { class: 'num' }, fmt(v.billedMs)),
    el('td', { class: 'num' }, fmt(v.maxMemoryUsedMb) + ' / ' + fmt(v.memorySizeMb)),
    el('td', { class: v.outcome }, v.outcome === 'ok' ? 'ok' : v.outcome + (v.error ? ': ' + v.error : '')));
  const open = () => showInvocation(v.id);
  tr.addEventListener('click', open);
  tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
  return tr;
}

function renderInvocations() {
  $('inv-rows').replaceChildren(...invocations.slice().reverse().slice(0, 200).map(invocationRow));
  $('inv-count').textContent = '(' + invocations.length + ')';
}

// Each detail and S3 request is numbered: a slower answer to an earlier one (another row, another
// folder, a refresh of the one left) must not overwrite what was asked for last.
let detailRequests = 0;
async function showInvocation(id) {
  const mine = ++detailRequests;
  selected = id;
  renderInvocations();
  const v = await api('/api/invocations/' + encodeURIComponent(id));
  if (mine !== detailRequests) return;
  $('inv-detail').replaceChildren(
    el('h3', {}, v.functionName + ' ' + v.requestId),
    el('p', { class: 'muted' }, v.trigger + ', ' + (v.cold ? 'cold start, init ' + fmt(v.initDurationMs, 2) + ' ms' : 'warm') + ', ' + fmt(v.durationMs, 2) + ' ms, billed ' + fmt(v.billedMs) + ' ms'),
    el('h4', {}, 'Trace'),
    v.spans.length
      ? el('table', { class: 'spans' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'span'), el('th', { scope: 'col', class: 'num' }, '+ms'), el('th', { scope: 'col', class: 'num' }, 'ms'), el('th', { scope: 'col' }, 'detail'))),
          el('tbody', {}, ...v.spans.map((s) => el('tr', { class: s.failed ? 'error' : '' }, el('td', { style: 'padding-left:' + (0.5 + s.depth * 1.25) + 'rem' }, s.name), el('td', { class: 'num' }, fmt(s.offsetMs, 2)), el('td', { class: 'num' }, fmt(s.durationMs, 2)), el('td', {}, s.detail)))))
      : el('p', { class: 'muted' }, 'no spans (tracing off, or the function made no traced calls)'),
    el('h4', {}, 'Logs'),
    el('pre', { 'aria-label': 'log lines' }, v.logs.map((l) => l.text).join('\\n') || '(no log lines)'),
    el('details', {}, el('summary', {}, v.outcome === 'ok' ? 'result' : 'error'), el('pre', {}, JSON.stringify(v.result, null, 2))));
}

function renderStats(stats) {
  $('fn-rows').replaceChildren(...stats.map((s) => el('tr', { 'data-function': s.functionName },
    el('th', { scope: 'row' }, s.functionName),
    el('td', { class: 'num' }, fmt(s.invocations)),
    el('td', { class: 'num' + (s.errors ? ' error' : '') }, fmt(s.errors)),
    el('td', { class: 'num' }, fmt(s.p50Ms, 1)),
    el('td', { class: 'num' }, fmt(s.p95Ms, 1)),
    el('td', { class: 'num' }, fmt(s.coldStarts) + ' (' + fmt(s.coldShare * 100) + ' %)'),
    el('td', { class: 'num' }, fmt(s.maxMemoryUsedMb)),
    el('td', { class: 'num' }, fmt(s.billedGbSeconds, 3)),
    el('td', {}, el('button', { type: 'button', 'aria-label': 'invoke ' + s.functionName + ' with {}', onclick: () => post('/api/functions/' + encodeURIComponent(s.functionName) + '/invoke', {}).catch(alert) }, 'invoke {}')))));
}

function renderQueues(queues) {
  const dlqs = queues.filter((q) => q.kind === 'dlq');
  if (!dlqs.length) { $('q-body').replaceChildren(el('p', { class: 'muted' }, 'no dead-letter queues')); return; }
  $('q-body').replaceChildren(...dlqs.map((q) => el('div', { 'data-queue': q.name },
    el('h3', {}, q.name + ' — ' + q.depth + ' message' + (q.depth === 1 ? '' : 's')),
    ...q.messages.map((m) => el('div', { 'data-message': m.messageId },
      el('pre', {}, m.lines.join('\\n')),
      m.replayable
        ? el('button', { type: 'button', onclick: (e) => replay(q.name, m.messageId, e.target) }, 'Replay to ' + q.owner)
        : el('span', { class: 'muted' }, 'a Kafka batch: re-read from its topic by offset'))))));
}

async function replay(queue, id, button) {
  button.disabled = true;
  button.textContent = 'replaying…';
  try {
    const r = await post('/api/queues/' + encodeURIComponent(queue) + '/messages/' + encodeURIComponent(id) + '/replay');
    button.textContent = r.replayed ? 'replayed' : 'failed again: ' + r.error.errorType + ': ' + r.error.errorMessage;
    button.disabled = r.replayed;
  } catch (e) {
    button.textContent = 'error: ' + e.message;
    button.disabled = false;
  }
}

let s3prefix = '';
let s3requests = 0;
// What the listing on screen is of, and its folders.
let s3shown = { bucket: '', prefix: '', folders: new Set() };
async function renderS3() {
  const mine = ++s3requests;
  // This request's bucket and folder: s3prefix may change while the listing is on its way.
  const bucket = $('s3-bucket').value;
  const prefix = s3prefix;
  if (!bucket) return;
  const r = await api('/api/s3/' + encodeURIComponent(bucket) + '?prefix=' + encodeURIComponent(prefix));
  if (mine !== s3requests) return;
  $('s3-path').textContent = 's3://' + bucket + '/' + prefix;
  s3shown = { bucket, prefix, folders: new Set(r.folders) };
  const rows = [];
  if (prefix) rows.push(el('tr', {}, el('td', {}, el('button', { type: 'button', onclick: () => { s3prefix = prefix.replace(/[^/]*\\/$/, ''); renderS3(); } }, '.. (up)')), el('td'), el('td')));
  for (const f of r.folders) rows.push(el('tr', {}, el('td', {}, el('button', { type: 'button', onclick: () => { s3prefix = f; renderS3(); } }, f.slice(prefix.length))), el('td'), el('td')));
  for (const o of r.objects) rows.push(el('tr', {}, el('td', {}, el('a', { href: '/api/s3/' + encodeURIComponent(bucket) + '/object?key=' + encodeURIComponent(o.key), download: '' }, o.key.slice(prefix.length))), el('td', { class: 'num' }, fmt(o.size)), el('td', {}, o.lastModified || '')));
  if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'muted' }, '(empty)'), el('td'), el('td')));
  if (r.truncated) rows.push(el('tr', {}, el('td', { class: 'muted', 'data-truncated': '' }, 'not everything here is shown (the listing stops at 50 pages and 500 objects a level): aws s3 ls --endpoint-url lists it all'), el('td'), el('td')));
  $('s3-rows').replaceChildren(...rows);
}

// An object written or removed (the s3 event): the listing shown is read again when the key is
// under it, once, 250 ms after the first such change, however many follow in the meantime (a
// pipeline writing a steady stream of objects still sees its listing refreshed). A new object in a
// folder already shown changes nothing on screen; one removed may take the folder's last object.
let s3refresh;
function s3Changed(c) {
  const bucket = $('s3-bucket').value;
  if (typeof c.key !== 'string' || c.bucket !== bucket || !c.key.startsWith(s3prefix)) return;
  const slash = c.key.indexOf('/', s3prefix.length);
  const folder = slash >= 0 ? c.key.slice(0, slash + 1) : undefined;
  if (c.change === 'created' && folder && s3shown.bucket === bucket && s3shown.prefix === s3prefix && s3shown.folders.has(folder)) return;
  if (s3refresh) return;
  s3refresh = setTimeout(() => { s3refresh = undefined; renderS3().catch(() => {}); }, 250);
}

async function renderCost() {
  const e = await api('/api/cost');
  const money = (n) => n < 0.01 && n > 0 ? '< 0.01' : fmt(n, 2);
  $('cost-rows').replaceChildren(
    ...e.functions.map((f) => el('tr', { 'data-function': f.name }, el('th', { scope: 'row' }, f.name), el('td', { class: 'num' }, fmt(f.invocations)), el('td', { class: 'num' }, fmt(f.duration.ms, 1)), el('td', {}, f.duration.source), el('td', { class: 'num' }, fmt(f.gbSeconds, 1)), el('td', { class: 'num' }, money(f.lambdaCost)), el('td', { class: 'num' }, money(f.otherCost)), el('td', { class: 'num' }, money(f.total)))),
    el('tr', {}, el('th', { scope: 'row' }, 'shared resources'), el('td'), el('td'), el('td'), el('td'), el('td'), el('td'), el('td', { class: 'num' }, money(e.totals.shared))),
    el('tr', {}, el('th', { scope: 'row' }, 'total per month'), el('td'), el('td'), el('td'), el('td'), el('td'), el('td'), el('th', { class: 'num' }, money(e.totals.total))));
  $('cost-note').textContent = e.regionName + ', prices as of ' + e.pricesAsOf + (e.freeTier ? ', free tier applied' : ', no free tier') + '. Durations measured in this session where the function ran, else assumed (pnpm cost prints the assumptions).';
}

async function renderGraph(state) {
  const res = await fetch('/api/graph.svg', { method: 'HEAD' });
  if (res.ok) {
    $('graph-body').replaceChildren(el('img', { src: '/api/graph.svg', alt: 'Pipeline graph: sources, functions, topics, buckets, tables and queues, from the specs' }));
    return;
  }
  // Without a renderer: the same facts as a list.
  $('graph-body').replaceChildren(el('ul', {}, ...state.functions.map((f) => el('li', {}, f.name + ' ← ' + f.triggers.map((t) => t.kind === 'schedule' ? t.expression : t.kind === 's3' ? 's3 ' + t.bucket + '/' + t.prefix + '*' + t.suffix + (t.alsoUpperCaseSuffix ? ' (or ' + t.suffix.toUpperCase() + ')' : '') : t.kind === 'kafka' ? 'kafka ' + t.topics.join(', ') : t.kind).join(', ')))));
}

// The whole page from one snapshot: at the start and after every reconnect (the runner may have
// restarted on the same port, a new run with other functions and queues).
let sinceOpen = [];
// The id of the newest stats and queues shown: a snapshot that was taken before an event the
// stream has already delivered (its response was slower) does not undo it.
let shown = { stats: 0, queues: 0 };
function newer(kind, seq) {
  if (seq < shown[kind]) return false;
  shown[kind] = seq;
  return true;
}
let resyncing = false;
let resyncs = 0;
async function resync() {
  const mine = ++resyncs;
  resyncing = true;
  let state;
  try {
    state = await api('/api/state');
  } finally {
    if (mine === resyncs) resyncing = false;
  }
  // A later (re)open's snapshot is the newer one.
  if (mine !== resyncs) return;
  // What the stream delivered since it (re)opened may be in the snapshot too: one row each. What
  // came before the reopen is the snapshot's to say (a restarted runner has none of it).
  const ids = new Set(state.invocations.map((v) => v.id));
  invocations = [...state.invocations, ...sinceOpen.filter((v) => !ids.has(v.id))].slice(-500);
  sinceOpen = [];
  renderInvocations();
  if (newer('stats', state.seq)) renderStats(state.stats);
  if (newer('queues', state.seq)) renderQueues(state.queues);
  $('services').replaceChildren(...state.services.map((s) => el('li', {}, s)));
  const chosen = $('s3-bucket').value;
  $('s3-bucket').replaceChildren(...Object.entries(state.buckets).map(([logical, real]) => el('option', { value: real, ...(real === chosen ? { selected: '' } : {}) }, logical + ' (' + real + ')')));
  renderS3().catch(() => {});
  renderGraph(state).catch(() => {});
  renderCost().catch((e) => { $('cost-note').textContent = 'no estimate: ' + e.message; });
}

async function start() {
  $('s3-bucket').addEventListener('change', () => { s3prefix = ''; renderS3(); });
  $('cost-refresh').addEventListener('click', () => renderCost());
  // The stream first, then the snapshot on each (re)open: nothing falls between the two.
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    sinceOpen = [];
    // A runner restarted on this port counts its events from 1 again.
    shown = { stats: 0, queues: 0 };
    $('live').textContent = 'live';
    resync().catch((e) => { $('live').textContent = 'error: ' + e.message; });
  });
  events.addEventListener('error', () => { $('live').textContent = 'reconnecting…'; });
  events.addEventListener('invocation', (e) => {
    const v = JSON.parse(e.data);
    if (invocations.some((x) => x.id === v.id)) return;
    // Kept until the snapshot in flight is applied (none once it is: then nothing waits for it).
    if (resyncing) sinceOpen.push(v);
    invocations.push(v);
    if (invocations.length > 500) invocations.shift();
    renderInvocations();
  });
  events.addEventListener('stats', (e) => { if (newer('stats', Number(e.lastEventId))) renderStats(JSON.parse(e.data)); });
  events.addEventListener('queues', (e) => {
    if (newer('queues', Number(e.lastEventId))) renderQueues(JSON.parse(e.data));
    renderS3().catch(() => {});
  });
  events.addEventListener('s3', (e) => s3Changed(JSON.parse(e.data)));
}
start().catch((e) => { $('live').textContent = 'error: ' + e.message; });
</script>
</body>
</html>
`;
}
