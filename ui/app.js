// Almanac's dashboard: one page over the JSON API (docs/TOOLS.md, "The dashboard"). Plain DOM:
// every text from the API goes in through textContent, never as HTML, so a job's name or a run's
// output cannot become markup. The token lives in sessionStorage and travels only as
// `Authorization: Bearer`; there is no cookie, so the API's CSRF defences stand as they are.
'use strict';

const POLL_MS = 3000;
const PAGE = 100;
const TOKEN_KEY = 'almanac.token';

// --- small helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const main = () => document.getElementById('main');

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('shown'), 4000);
}

function banner(text) {
  const b = document.getElementById('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// --- time ------------------------------------------------------------------------------------

const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function fmtIn(iso, zone) {
  if (!iso) return '—';
  try {
    return new Intl.DateTimeFormat(undefined, {
      timeZone: zone, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit',
      minute: '2-digit', second: '2-digit', timeZoneName: 'short',
    }).format(new Date(iso));
  } catch (e) {
    return iso;
  }
}

function offsetIn(iso, zone) {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(new Date(iso));
    const p = parts.find((x) => x.type === 'timeZoneName');
    return p ? p.value : '';
  } catch (e) {
    return '';
  }
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
function relative(iso) {
  if (!iso) return '';
  const s = (new Date(iso).getTime() - Date.now()) / 1000;
  const a = Math.abs(s);
  if (a < 60) return rtf.format(Math.round(s), 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

function fmtMs(ms) {
  if (ms === null || ms === undefined || isNaN(ms)) return '—';
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  const m = Math.floor(ms / 60000);
  return m + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
}

function jobZone(job) {
  return job.schedule && job.schedule.kind === 'cron' && job.schedule.tz ? job.schedule.tz : 'UTC';
}

// --- schedules in words ----------------------------------------------------------------------

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const num = (s) => /^\d+$/.test(s);
const two = (s) => String(s).padStart(2, '0');

function cronWords(expr) {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return 'cron ' + expr;
  const [mi, ho, dom, mo, dow] = f;
  const anyDate = dom === '*' && mo === '*';
  if (f.every((x) => x === '*')) return 'every minute';
  let m = /^\*\/(\d+)$/.exec(mi);
  if (m && ho === '*' && anyDate && dow === '*') return 'every ' + m[1] + ' minutes';
  if (num(mi) && ho === '*' && anyDate && dow === '*') return 'hourly at minute ' + mi;
  m = /^\*\/(\d+)$/.exec(ho);
  if (num(mi) && m && anyDate && dow === '*') return 'every ' + m[1] + ' hours at minute ' + mi;
  if (num(mi) && num(ho)) {
    const at = two(ho) + ':' + two(mi);
    if (anyDate && dow === '*') return 'daily at ' + at;
    if (anyDate && dow === '1-5') return 'weekdays at ' + at;
    if (anyDate && num(dow) && +dow <= 7) return 'every ' + DAYS[+dow % 7] + ' at ' + at;
    if (num(dom) && mo === '*' && dow === '*') return 'monthly on day ' + dom + ' at ' + at;
  }
  return 'cron ' + expr;
}

function scheduleWords(s) {
  if (!s) return '—';
  if (s.kind === 'cron') return cronWords(s.cron);
  if (s.kind === 'every') return 'every ' + s.every + (s.mode === 'after_run_end' ? ' after each run ends' : '');
  if (s.kind === 'at') return 'once at ' + fmtIn(s.at, viewerZone);
  return s.kind;
}

function scheduleCell(job) {
  const s = job.schedule || {};
  return h('div', {}, h('div', {}, scheduleWords(s)),
    h('div', { class: 'sub' }, s.kind === 'cron' ? s.cron + ' · ' + jobZone(job) : 'zone UTC'));
}

// --- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message || ('HTTP ' + status));
    this.status = status;
    this.code = code;
  }
}

const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token(), Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'almanacd does not answer: ' + e.message);
  }
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn('The token was refused: sign in again.');
    throw new ApiError(401, 'unauthorized', 'the token was refused');
  }
  if (!r.ok) throw new ApiError(r.status, data && data.error, data && data.message);
  return data;
}

const enc = encodeURIComponent;

// --- the status badge ------------------------------------------------------------------------

function badge(status) {
  return h('span', { class: 'badge s-' + status }, status);
}

// --- sign in ---------------------------------------------------------------------------------

let poller = null;
function stopPolling() { if (poller) clearInterval(poller); poller = null; }
function poll(fn) {
  stopPolling();
  poller = setInterval(() => { if (!document.hidden) fn(); }, POLL_MS);
}

function takeTokenFromFragment() {
  const m = /^#token=([^&]*)$/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  // The token must not stay in the address bar, the history or a bookmark.
  history.replaceState(null, '', location.pathname + location.search);
}

function showSignIn(message) {
  stopPolling();
  document.getElementById('nav').hidden = true;
  banner('');
  const input = h('input', { id: 'token-input', type: 'password', autocomplete: 'off', required: true,
    'aria-describedby': 'token-help' });
  const err = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' }, message || '');
  const form = h('form', { id: 'sign-in', class: 'card narrow' },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'token-input' }, 'HTTP API token'),
    input,
    h('p', { id: 'token-help', class: 'sub' },
      'The token is in the data directory (credentials/http-token). It is kept in this tab only.'),
    err,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await api('GET', '/api/health');
      route();
    } catch (e) {
      if (e.status !== 401) err.textContent = e.message;
    }
  });
  main().replaceChildren(form);
  input.focus();
}

// --- the jobs page ---------------------------------------------------------------------------

const jobsView = {
  filters: { status: '', group: '', name: '' },
  cursor: '',
  history: [],
  sort: { key: 'name', dir: 1 },
  jobs: [],
  next: '',
  shownJson: '',
};

const COLUMNS = [
  { key: 'name', label: 'Name', value: (j) => j.name.toLowerCase() },
  { key: 'status', label: 'Status', value: (j) => j.status },
  { key: 'schedule', label: 'Schedule', value: (j) => scheduleWords(j.schedule) },
  { key: 'next', label: 'Next run', value: (j) => j.next_run_at || '9999' },
  { key: 'last', label: 'Last run', value: (j) => (j.last_run ? j.last_run.finished_at : '') },
  { key: 'errors', label: 'Errors', value: (j) => j.consecutive_errors },
];

function healthBar(hr) {
  const box = h('section', { id: 'health', class: 'health', 'aria-label': 'Fleet health' });
  for (const s of ['active', 'paused', 'failed', 'completed'])
    box.append(h('div', { class: 'stat', 'data-status': s }, h('span', { class: 'badge s-' + s }, s),
      h('strong', { class: 'count' }, hr.jobs[s])));
  box.append(h('div', { class: 'stat' }, h('span', {}, 'erroring'), h('strong', { id: 'h-erroring' }, hr.erroring)));
  box.append(h('div', { class: 'stat' }, h('span', {}, 'runs in flight'),
    h('strong', { id: 'h-in-flight' }, hr.runs_in_flight.length)));
  box.append(h('div', { class: 'stat' }, h('span', {}, 'failed in the last hour'),
    h('strong', {}, hr.recently_failed)));
  if (hr.fleet_alert)
    box.append(h('div', { id: 'fleet-alert', class: 'alert', role: 'alert' },
      'Fleet alert: many jobs are failing at once (' + hr.recently_failed + ' recently failed). ' +
      'Look for a shared cause before reviving them.'));
  if (hr.store && !hr.store.connected)
    box.append(h('div', { class: 'alert', role: 'alert' }, 'The store is not connected: ' + hr.store.last_error));
  return box;
}

function jobRow(j) {
  const zone = jobZone(j);
  const next = j.next_run_at
    ? h('div', {}, h('div', {}, fmtIn(j.next_run_at, viewerZone), ' ', h('span', { class: 'rel' }, relative(j.next_run_at))),
      zone !== viewerZone ? h('div', { class: 'sub' }, fmtIn(j.next_run_at, zone)) : null)
    : h('span', { class: 'sub' }, 'none');
  let last = h('span', { class: 'sub' }, 'never');
  if (j.last_run) {
    const took = new Date(j.last_run.finished_at) - new Date(j.last_run.started_at);
    last = h('div', {}, h('span', { class: 'outcome o-' + j.last_run.outcome }, j.last_run.outcome),
      ' ', h('span', { class: 'sub' }, fmtMs(took)));
  }
  const max = j.max_consecutive_errors;
  return h('tr', { 'data-id': j.id, 'data-status': j.status },
    h('td', { 'data-label': 'Name' }, h('a', { href: '#/job/' + enc(j.id), class: 'job-link' }, j.name),
      j.policies && j.policies.group ? h('div', { class: 'sub' }, 'group ' + j.policies.group) : null),
    h('td', { 'data-label': 'Status' }, badge(j.status)),
    h('td', { 'data-label': 'Schedule' }, scheduleCell(j)),
    h('td', { 'data-label': 'Next run' }, next),
    h('td', { 'data-label': 'Last run' }, last),
    h('td', { 'data-label': 'Errors', class: j.consecutive_errors ? 'errs' : '' },
      j.consecutive_errors + ' of ' + (max === null || max === undefined ? '∞' : max)));
}

function sortedJobs() {
  const col = COLUMNS.find((c) => c.key === jobsView.sort.key);
  const d = jobsView.sort.dir;
  return [...jobsView.jobs].sort((a, b) => {
    const x = col.value(a), y = col.value(b);
    return (x < y ? -1 : x > y ? 1 : 0) * d || (a.id < b.id ? -1 : 1);
  });
}

function renderRows() {
  const tbody = document.getElementById('jobs-body');
  if (!tbody) return;
  const focused = document.activeElement && document.activeElement.closest('tr');
  const focusId = focused && focused.dataset.id;
  const rows = sortedJobs().map(jobRow);
  if (!rows.length)
    rows.push(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' },
      jobsView.next ? 'No job on this page matches; try the next page.' : 'No job matches.')));
  tbody.replaceChildren(...rows);
  if (focusId) {
    const a = tbody.querySelector('tr[data-id="' + CSS.escape(focusId) + '"] a');
    if (a) a.focus();
  }
  for (const th of document.querySelectorAll('#jobs thead th')) {
    const on = th.dataset.key === jobsView.sort.key;
    th.setAttribute('aria-sort', on ? (jobsView.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
  document.getElementById('next-page').disabled = !jobsView.next;
  document.getElementById('prev-page').disabled = !jobsView.history.length;
  const first = jobsView.history.length * PAGE;
  document.getElementById('page-info').textContent = jobsView.jobs.length
    ? 'page ' + (jobsView.history.length + 1) + ' · ' + jobsView.jobs.length + ' jobs (from #' + (first + 1) + ')'
    : 'page ' + (jobsView.history.length + 1);
}

async function loadJobs() {
  const f = jobsView.filters;
  let q = '/api/jobs?limit=' + PAGE;
  if (f.status) q += '&status=' + enc(f.status);
  if (f.name) q += '&name=' + enc(f.name);
  if (f.group) q += '&group=' + enc(f.group);
  if (jobsView.cursor) q += '&cursor=' + enc(jobsView.cursor);
  const [list, hr] = await Promise.all([api('GET', q), api('GET', '/api/health')]);
  if (!document.getElementById('jobs')) return;
  const text = JSON.stringify(list);
  document.getElementById('health').replaceWith(healthBar(hr));
  if (text !== jobsView.shownJson) {
    jobsView.shownJson = text;
    jobsView.jobs = list.jobs;
    jobsView.next = list.next_cursor || '';
    renderRows();
  } else {
    // Relative times move on even when nothing else does.
    for (const el of document.querySelectorAll('#jobs-body tr[data-id]')) {
      const j = jobsView.jobs.find((x) => x.id === el.dataset.id);
      const rel = el.querySelector('.rel');
      if (j && rel) rel.textContent = relative(j.next_run_at);
    }
  }
  document.getElementById('jobs').setAttribute('aria-busy', 'false');
  document.getElementById('jobs').dataset.loaded = String(Date.now());
}

function showJobs() {
  const v = jobsView;
  v.shownJson = '';
  const reload = () => { v.cursor = ''; v.history = []; v.shownJson = ''; loadJobs().catch(showError); };
  const status = h('select', { id: 'f-status' },
    ['', 'active', 'paused', 'failed', 'completed'].map((s) =>
      h('option', { value: s, selected: s === v.filters.status }, s || 'any status')));
  status.addEventListener('change', () => { v.filters.status = status.value; reload(); });
  const later = debounce(reload, 300);
  const text = (id, key, label) => {
    const i = h('input', { id, type: 'search', value: v.filters[key], autocomplete: 'off' });
    i.addEventListener('input', () => { v.filters[key] = i.value.trim(); later(); });
    return h('span', { class: 'filter' }, h('label', { for: id }, label), i);
  };
  const head = h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', 'data-key': c.key, 'aria-sort': 'none' },
    h('button', { type: 'button', class: 'sort', id: 'sort-' + c.key,
      onclick: () => {
        v.sort = { key: c.key, dir: v.sort.key === c.key ? -v.sort.dir : 1 };
        renderRows();
      } }, c.label))));
  main().replaceChildren(
    h('section', { id: 'health', class: 'health' }),
    h('div', { class: 'bar' },
      h('h1', {}, 'Jobs'),
      h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
        h('span', { class: 'filter' }, h('label', { for: 'f-status' }, 'Status'), status),
        text('f-group', 'group', 'Group'),
        text('f-name', 'name', 'Name contains'))),
    h('div', { class: 'table-wrap' },
      h('table', { id: 'jobs', 'aria-busy': 'true' },
        h('caption', { class: 'sr-only' }, 'Jobs; the column buttons sort this page'),
        h('thead', {}, head), h('tbody', { id: 'jobs-body' }))),
    h('div', { class: 'pager' },
      h('button', { type: 'button', id: 'prev-page', disabled: true, onclick: () => {
        v.cursor = v.history.pop() || ''; v.shownJson = ''; loadJobs().catch(showError);
      } }, '← Previous page'),
      h('span', { id: 'page-info', class: 'sub' }),
      h('button', { type: 'button', id: 'next-page', disabled: true, onclick: () => {
        v.history.push(v.cursor); v.cursor = v.next; v.shownJson = ''; loadJobs().catch(showError);
      } }, 'Next page →')));
  loadJobs().catch(showError);
  poll(() => loadJobs().catch(showError));
}

function showError(e) {
  if (e && e.status === 401) return;
  banner(e ? e.message : 'error');
}

// --- a job's page ----------------------------------------------------------------------------

// Which actions the daemon allows in which status (events/decide.cpp refuses the others).
const ALLOWED = {
  active: ['pause', 'run', 'edit', 'delete'],
  paused: ['resume', 'edit', 'delete'],
  failed: ['revive', 'edit', 'delete'],
  completed: ['delete'],
  deleted: [],
};

const jobView = { id: '', job: null, dialog: false, statusShown: '' };

function definition(job) {
  const t = job.target || {};
  const p = job.policies || {};
  const rows = [
    ['Schedule', scheduleWords(job.schedule) + ' (' + jobZone(job) + ')'],
    ['Schedule, exactly', JSON.stringify(job.schedule)],
    ['Target', t.kind === 'exec' ? 'exec ' + (t.argv || []).join(' ')
      : t.kind === 'http' ? t.method + ' ' + t.url : t.kind + ' ' + (t.name || '')],
    ['Max consecutive errors', p.max_consecutive_errors === null ? 'no limit' : p.max_consecutive_errors],
    ['Backoff', (p.backoff || []).join(', ') || 'none'],
    ['Timeout', p.timeout], ['Misfire', p.misfire], ['Overlap', p.overlap],
    ['Group', p.group || 'none'], ['Jitter', p.jitter],
    ['Created', fmtIn(job.created_at, viewerZone) + ' by ' + job.created_by],
    ['Updated', fmtIn(job.updated_at, viewerZone)],
    ['Runs started', job.runs_started],
  ];
  return h('dl', { class: 'def' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
}

function firesList(fires, zone, id) {
  const list = h('ol', { class: 'fires', id });
  let prev = null;
  for (const f of fires) {
    const off = offsetIn(f, zone);
    const li = h('li', {}, fmtIn(f, zone), zone !== viewerZone ? h('span', { class: 'sub' }, ' · ' + fmtIn(f, viewerZone)) : null);
    if (prev !== null && off !== prev) {
      li.classList.add('dst');
      li.append(' ', h('span', { class: 'dst-mark' }, 'DST: ' + prev + ' → ' + off));
    }
    prev = off;
    list.append(li);
  }
  if (!fires.length) list.append(h('li', { class: 'sub' }, 'no fire to come'));
  return list;
}

function runsTable(runs) {
  const body = runs.map((r) => {
    const late = new Date(r.started_at) - new Date(r.scheduled_for);
    return h('tr', {},
      h('td', { 'data-label': 'Run' }, '#' + r.run_id, h('div', { class: 'sub' }, r.trigger)),
      h('td', { 'data-label': 'Scheduled' }, fmtIn(r.scheduled_for, viewerZone)),
      h('td', { 'data-label': 'Started' }, fmtIn(r.started_at, viewerZone)),
      h('td', { 'data-label': 'Late' }, fmtMs(Math.max(0, late))),
      h('td', { 'data-label': 'Outcome' }, h('span', { class: 'outcome o-' + r.outcome }, r.outcome || 'running'),
        r.error ? h('div', { class: 'sub' }, r.error) : null),
      h('td', { 'data-label': 'Duration' }, r.finished_at ? fmtMs(r.duration_ms) : '—'),
      h('td', { 'data-label': 'Output' }, r.output_tail
        ? h('details', {}, h('summary', {}, 'tail'), h('pre', {}, r.output_tail)) : h('span', { class: 'sub' }, 'none')));
  });
  if (!body.length) body.push(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No run yet.')));
  return h('div', { class: 'table-wrap' }, h('table', { id: 'runs' },
    h('thead', {}, h('tr', {}, ['Run', 'Scheduled', 'Started', 'Late', 'Outcome', 'Duration', 'Output']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, body)));
}

function auditTable(entries) {
  const body = entries.map((e) => h('tr', {},
    h('td', { 'data-label': 'When' }, fmtIn(e.at, viewerZone)),
    h('td', { 'data-label': 'Actor' }, e.actor),
    h('td', { 'data-label': 'Action', class: 'action' }, e.action),
    h('td', { 'data-label': 'Status' }, e.from_status || '—', ' → ', e.to_status || '—'),
    h('td', { 'data-label': 'Note' }, e.note, e.detail ? h('div', { class: 'sub' }, e.detail) : null)));
  if (!body.length) body.push(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Nothing yet.')));
  return h('div', { class: 'table-wrap' }, h('table', { id: 'audit' },
    h('thead', {}, h('tr', {}, ['When', 'Actor', 'Action', 'Status', 'Note'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, body)));
}

// A confirm step inside the page: the dialog's fields, an OK button and Cancel; Escape cancels.
function confirmPanel(id, title, body, okText, onOk, danger) {
  const err = h('p', { class: 'error', role: 'alert', id: id + '-error' });
  const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', id: id + '-ok' }, okText);
  const form = h('form', { class: 'card confirm', id, 'aria-labelledby': id + '-title' },
    h('h2', { id: id + '-title' }, title), body, err,
    h('div', { class: 'row' }, ok,
      h('button', { type: 'button', id: id + '-cancel', onclick: () => closeDialog() }, 'Cancel')));
  form.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDialog(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    ok.disabled = true;
    try {
      await onOk();
      closeDialog();
    } catch (x) {
      if (x.status !== 401) err.textContent = refusal(x);
    } finally {
      ok.disabled = false;
    }
  });
  return form;
}

function refusal(e) {
  return (e.status ? 'Refused (' + e.status + (e.code ? ' ' + e.code : '') + '): ' : '') + e.message;
}

function openDialog(panel) {
  const slot = document.getElementById('dialog-slot');
  slot.replaceChildren(panel);
  jobView.dialog = true;
  const first = panel.querySelector('input, textarea, button');
  if (first) first.focus();
}

function closeDialog() {
  const slot = document.getElementById('dialog-slot');
  if (slot) slot.replaceChildren();
  jobView.dialog = false;
  renderActions(true);
}

function noteField(id) {
  return [h('label', { for: id }, 'Note (optional, kept in the audit trail)'),
    h('input', { id, type: 'text', maxlength: 500, autocomplete: 'off' })];
}

async function act(path, body, done) {
  const j = await api('POST', '/api/jobs/' + enc(jobView.id) + path, body);
  jobView.job = j;
  toast(done);
  await refreshJob();
}

function renderActions(force) {
  const job = jobView.job;
  const bar = document.getElementById('actions');
  if (!bar || !job || (jobView.dialog && !force)) return;
  if (!force && jobView.statusShown === job.status) return;
  jobView.statusShown = job.status;
  const allowed = ALLOWED[job.status] || [];
  const b = (key, text, onclick, cls) => allowed.includes(key)
    ? h('button', { type: 'button', id: 'act-' + key, class: cls || '', onclick }, text) : null;
  const err = document.getElementById('action-error');
  if (err) err.textContent = '';
  bar.replaceChildren(...[
    b('pause', 'Pause…', () => openDialog(confirmPanel('pause-dialog', 'Pause ' + job.name,
      noteField('pause-note'), 'Pause', () => act('/pause', { note: document.getElementById('pause-note').value }, 'Paused')))),
    b('resume', 'Resume', () => runAction('/resume', {}, 'Resumed'), 'primary'),
    b('revive', 'Revive with force…', () => openDialog(confirmPanel('revive-dialog', 'Revive ' + job.name + ' with force',
      [h('p', {}, 'This job failed after ', h('strong', { id: 'revive-count' }, String(job.consecutive_errors)),
        ' consecutive errors. Reviving it clears them and makes it active again.'),
      h('p', {}, 'Last error:'), h('pre', { id: 'revive-error', class: 'last-error' }, job.last_error || '(none recorded)'),
      noteField('revive-note')],
      'Revive with force', () => act('/resume', { force: true, note: document.getElementById('revive-note').value }, 'Revived'))), 'primary'),
    b('run', 'Run now', () => runAction('/run', {}, 'Run started')),
    allowed.includes('edit') ? h('a', { href: '#/edit/' + enc(job.id), class: 'button', id: 'act-edit' }, 'Edit') : null,
    b('delete', 'Delete…', () => openDialog(confirmPanel('delete-dialog', 'Delete ' + job.name + '?',
      h('p', {}, 'The job stops for good; its audit trail stays in the log.'), 'Delete', async () => {
        await api('DELETE', '/api/jobs/' + enc(job.id));
        jobView.dialog = false;
        toast('Deleted ' + job.name);
        location.hash = '#/jobs';
      }, true)), 'danger')].filter(Boolean));
  if (!allowed.length) bar.append(h('span', { class: 'sub' }, 'No action is possible on a ' + job.status + ' job.'));
}

async function runAction(path, body, done) {
  const err = document.getElementById('action-error');
  err.textContent = '';
  try {
    await act(path, body, done);
  } catch (e) {
    if (e.status !== 401) err.textContent = refusal(e);
  }
}

async function refreshJob() {
  const id = jobView.id;
  const base = '/api/jobs/' + enc(id);
  const [job, runs, audit] = await Promise.all([
    api('GET', base), api('GET', base + '/runs?limit=20'), api('GET', base + '/audit?limit=50')]);
  if (jobView.id !== id || !document.getElementById('job')) return;
  const statusChanged = !jobView.job || jobView.job.status !== job.status;
  jobView.job = job;
  document.getElementById('job-name').textContent = job.name;
  document.getElementById('job-status').replaceChildren(badge(job.status));
  document.getElementById('job-errors').textContent = job.consecutive_errors + ' of ' +
    (job.max_consecutive_errors === null ? '∞' : job.max_consecutive_errors) + ' consecutive errors' +
    (job.last_error ? ' · last: ' + job.last_error : '');
  document.getElementById('job-next').textContent = job.next_run_at
    ? 'next run ' + fmtIn(job.next_run_at, viewerZone) + ' (' + relative(job.next_run_at) + ')' : 'no next run';
  document.getElementById('definition').replaceChildren(definition(job));
  document.getElementById('runs-slot').replaceChildren(runsTable(runs.runs));
  document.getElementById('audit-slot').replaceChildren(auditTable(audit.entries));
  renderActions(false);
  if (statusChanged || !jobView.firesShown) loadFires(job);
  document.getElementById('job').dataset.loaded = String(Date.now());
}

async function loadFires(job) {
  jobView.firesShown = true;
  const slot = document.getElementById('fires-slot');
  if (job.status === 'deleted' || job.status === 'completed') {
    slot.replaceChildren(h('p', { class: 'sub' }, 'A ' + job.status + ' job fires no more.'));
    return;
  }
  try {
    const p = await api('POST', '/api/preview', { schedule: job.schedule, count: 10 });
    slot.replaceChildren(firesList(p.fires, jobZone(job), 'fires'));
  } catch (e) {
    slot.replaceChildren(h('p', { class: 'error' }, refusal(e)));
  }
}

function showJob(id) {
  jobView.id = id;
  jobView.job = null;
  jobView.dialog = false;
  jobView.statusShown = '';
  jobView.firesShown = false;
  main().replaceChildren(h('article', { id: 'job' },
    h('p', {}, h('a', { href: '#/jobs' }, '← All jobs')),
    h('div', { class: 'bar' }, h('h1', { id: 'job-name' }, '…'), h('span', { id: 'job-status' })),
    h('p', { class: 'sub' }, 'id ', id, ' · ', h('span', { id: 'job-next' }), ' · ', h('span', { id: 'job-errors' })),
    h('div', { id: 'actions', class: 'row actions', role: 'group', 'aria-label': 'Actions' }),
    h('p', { id: 'action-error', class: 'error', role: 'alert' }),
    h('div', { id: 'dialog-slot' }),
    h('div', { class: 'cols' },
      h('section', { 'aria-labelledby': 'def-h' }, h('h2', { id: 'def-h' }, 'Definition'), h('div', { id: 'definition' })),
      h('section', { 'aria-labelledby': 'fires-h' }, h('h2', { id: 'fires-h' }, 'Next 10 fires'),
        h('p', { class: 'sub' }, 'In the job\'s zone (' + '…' + '); a changed UTC offset is marked DST.'),
        h('div', { id: 'fires-slot' }))),
    h('section', { 'aria-labelledby': 'runs-h' }, h('h2', { id: 'runs-h' }, 'Runs'), h('div', { id: 'runs-slot' })),
    h('section', { 'aria-labelledby': 'audit-h' }, h('h2', { id: 'audit-h' }, 'Audit trail'), h('div', { id: 'audit-slot' }))));
  refreshJob().then(() => {
    const note = document.querySelector('#fires-h + p');
    if (note && jobView.job) note.textContent = 'In the job\'s zone (' + jobZone(jobView.job) + '); a changed UTC offset is marked DST.';
  }).catch(showError);
  poll(() => refreshJob().catch(showError));
}

// --- create and edit -------------------------------------------------------------------------

function field(id, label, input, help) {
  input.id = id;
  input.setAttribute('aria-describedby', id + '-msg');
  return h('div', { class: 'field', id: id + '-field' }, h('label', { for: id }, label), input,
    h('p', { class: 'msg', id: id + '-msg', 'aria-live': 'polite' }, help || ''));
}

function setMsg(id, text, bad) {
  const m = document.getElementById(id + '-msg');
  const i = document.getElementById(id);
  if (!m || !i) return;
  m.textContent = text;
  m.classList.toggle('error', !!bad);
  if (bad) i.setAttribute('aria-invalid', 'true');
  else i.removeAttribute('aria-invalid');
}

function scheduleFromForm() {
  const kind = document.getElementById('e-kind').value;
  if (kind === 'cron') return { kind, cron: document.getElementById('e-cron').value.trim(), tz: document.getElementById('e-tz').value.trim() || 'UTC' };
  if (kind === 'every') return { kind, every: document.getElementById('e-every').value.trim() };
  return { kind, at: document.getElementById('e-at').value.trim() };
}

function specFromForm() {
  const tk = document.getElementById('e-target').value;
  const target = tk === 'exec'
    ? { kind: 'exec', argv: document.getElementById('e-argv').value.split('\n').map((s) => s.trim()).filter((s) => s) }
    : { kind: 'http', method: document.getElementById('e-method').value, url: document.getElementById('e-url').value.trim() };
  const policies = {};
  const max = document.getElementById('e-max').value.trim();
  policies.max_consecutive_errors = max === '' ? null : Number(max);
  policies.group = document.getElementById('e-group').value.trim();
  const timeout = document.getElementById('e-timeout').value.trim();
  if (timeout) policies.timeout = timeout;
  return { name: document.getElementById('e-name').value.trim(), schedule: scheduleFromForm(), target, policies };
}

// What an edit changes, and only that: the form shows a part of a job (no env, cwd, headers,
// anchor or other policies), so a field it did not change is not sent and stays as it is.
function changesOf(job, spec) {
  const out = {};
  if (spec.name !== job.name) out.name = spec.name;
  const s0 = job.schedule, s1 = spec.schedule;
  const sameSchedule = s0.kind === s1.kind && (s1.kind === 'cron' ? s0.cron === s1.cron && s0.tz === s1.tz
    : s1.kind === 'every' ? s0.every === s1.every : s0.at === s1.at);
  if (!sameSchedule) out.schedule = s1;
  const t0 = job.target, t1 = spec.target;
  const sameTarget = t0.kind === t1.kind && (t1.kind === 'exec' ? JSON.stringify(t0.argv) === JSON.stringify(t1.argv)
    : t0.method === t1.method && t0.url === t1.url);
  if (!sameTarget) out.target = t0.kind === t1.kind ? Object.assign({}, t0, t1) : t1;
  const p0 = job.policies, p1 = spec.policies, pol = {};
  const max0 = p0.max_consecutive_errors === undefined ? null : p0.max_consecutive_errors;
  if (max0 !== p1.max_consecutive_errors) pol.max_consecutive_errors = p1.max_consecutive_errors;
  if ((p0.group || '') !== p1.group) pol.group = p1.group;
  if ((p0.timeout || '') !== (p1.timeout || '')) pol.timeout = p1.timeout || null;
  if (Object.keys(pol).length) out.policies = pol;
  return out;
}

// The field an API message is about ("schedule: ...", "policies: max_runs ...").
function fieldOf(message) {
  const m = /^([a-z_.]+):/.exec(message || '');
  if (!m) return null;
  const k = m[1];
  if (k.startsWith('schedule')) {
    const kind = document.getElementById('e-kind').value;
    if (kind === 'cron' && /\btz\b|zone/i.test(message)) return 'e-tz';
    return kind === 'cron' ? 'e-cron' : kind === 'every' ? 'e-every' : 'e-at';
  }
  if (k === 'name') return 'e-name';
  if (k.startsWith('target')) return document.getElementById('e-target').value === 'exec' ? 'e-argv' : 'e-url';
  if (k.startsWith('policies')) return /max_consecutive/.test(message) ? 'e-max' : /timeout/.test(message) ? 'e-timeout' : 'e-group';
  return null;
}

let previewSeq = 0;
async function validateSchedule() {
  const seq = ++previewSeq;
  const s = scheduleFromForm();
  const id = s.kind === 'cron' ? 'e-cron' : s.kind === 'every' ? 'e-every' : 'e-at';
  const slot = document.getElementById('preview-slot');
  for (const f of ['e-cron', 'e-tz', 'e-every', 'e-at']) setMsg(f, '', false);
  try {
    const p = await api('POST', '/api/preview', { schedule: s, count: 5 });
    if (seq !== previewSeq) return;
    setMsg(id, s.kind === 'cron' ? cronWords(s.cron) : 'valid', false);
    slot.replaceChildren(firesList(p.fires, s.kind === 'cron' ? s.tz : 'UTC', 'preview'));
    document.getElementById('edit').dataset.valid = 'true';
  } catch (e) {
    if (seq !== previewSeq || e.status === 401) return;
    setMsg(fieldOf(e.message) || id, e.message, true);
    slot.replaceChildren(h('p', { class: 'sub' }, 'No fire to show until the schedule is valid.'));
    document.getElementById('edit').dataset.valid = 'false';
  }
}

async function showEdit(id) {
  let job = null;
  if (id) {
    try { job = await api('GET', '/api/jobs/' + enc(id)); } catch (e) { return showError(e); }
  }
  const s = job ? job.schedule : { kind: 'cron', cron: '*/5 * * * *', tz: viewerZone };
  const t = job ? job.target : { kind: 'exec', argv: [] };
  const p = job ? job.policies : { max_consecutive_errors: 3, group: '', timeout: '' };
  const later = debounce(validateSchedule, 250);
  const kind = h('select', {}, ['cron', 'every', 'at'].map((k) => h('option', { value: k, selected: k === s.kind }, k)));
  const tkind = h('select', {}, ['exec', 'http'].map((k) => h('option', { value: k, selected: k === t.kind }, k)));
  const method = h('select', {}, ['GET', 'POST', 'PUT', 'DELETE'].map((k) => h('option', { value: k, selected: k === t.method }, k)));
  const inp = (v, extra) => h('input', Object.assign({ type: 'text', value: v || '', autocomplete: 'off', spellcheck: 'false' }, extra || {}));
  const form = h('form', { id: 'edit', class: 'card', novalidate: true },
    h('h1', {}, job ? 'Edit ' + job.name : 'New job'),
    field('e-name', 'Name', inp(job && job.name, { required: true })),
    h('fieldset', {}, h('legend', {}, 'Schedule'),
      field('e-kind', 'Kind', kind),
      h('div', { class: 'k-cron' }, field('e-cron', 'Cron expression (minute hour day month weekday)', inp(s.cron)),
        field('e-tz', 'Time zone (IANA)', inp(s.tz || viewerZone))),
      h('div', { class: 'k-every' }, field('e-every', 'Every (e.g. 30s, 5m, 1h)', inp(s.every))),
      h('div', { class: 'k-at' }, field('e-at', 'At (ISO 8601 with zone, e.g. 2030-01-01T09:00:00Z)', inp(s.at))),
      h('h3', {}, 'Next fires'), h('div', { id: 'preview-slot' })),
    h('fieldset', {}, h('legend', {}, 'Target'),
      field('e-target', 'Kind', tkind),
      h('div', { class: 't-exec' }, field('e-argv', 'Command, one argument per line',
        h('textarea', { rows: 3, spellcheck: 'false' }, (t.argv || []).join('\n')))),
      h('div', { class: 't-http' }, field('e-method', 'Method', method), field('e-url', 'URL', inp(t.url)))),
    h('fieldset', {}, h('legend', {}, 'Policies'),
      field('e-max', 'Max consecutive errors (empty: no limit)', inp(p.max_consecutive_errors === null ? '' : p.max_consecutive_errors, { inputmode: 'numeric' })),
      field('e-group', 'Group (jobs in one group never run at once)', inp(p.group)),
      field('e-timeout', 'Timeout (e.g. 30s; empty: default)', inp(p.timeout))),
    h('p', { id: 'save-error', class: 'error', role: 'alert' }),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', id: 'save' }, job ? 'Save' : 'Create'),
      h('a', { href: job ? '#/job/' + enc(job.id) : '#/jobs', class: 'button' }, 'Cancel')));
  const showKinds = () => {
    for (const k of ['cron', 'every', 'at']) form.querySelector('.k-' + k).hidden = kind.value !== k;
    for (const k of ['exec', 'http']) form.querySelector('.t-' + k).hidden = tkind.value !== k;
  };
  kind.addEventListener('change', () => { showKinds(); validateSchedule(); });
  tkind.addEventListener('change', showKinds);
  for (const i of form.querySelectorAll('#e-cron, #e-tz, #e-every, #e-at')) i.addEventListener('input', later);
  form.querySelector('#e-name').addEventListener('input', (e) =>
    setMsg('e-name', e.target.value.trim() ? '' : 'name: is required', !e.target.value.trim()));
  form.querySelector('#e-max').addEventListener('input', (e) => {
    const v = e.target.value.trim();
    const bad = v !== '' && !/^\d+$/.test(v);
    setMsg('e-max', bad ? 'max consecutive errors: a whole number, or empty' : '', bad);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = document.getElementById('save-error');
    err.textContent = '';
    const spec = specFromForm();
    if (!spec.name) { setMsg('e-name', 'name: is required', true); form.querySelector('#e-name').focus(); return; }
    const body = job ? changesOf(job, spec) : spec;
    if (job && !Object.keys(body).length) {
      toast('Nothing changed');
      location.hash = '#/job/' + enc(job.id);
      return;
    }
    try {
      const saved = job ? await api('PATCH', '/api/jobs/' + enc(job.id), body) : await api('POST', '/api/jobs', spec);
      toast(job ? 'Saved' : 'Created');
      location.hash = '#/job/' + enc(saved.id);
    } catch (x) {
      if (x.status === 401) return;
      const f = fieldOf(x.message);
      if (f) { setMsg(f, x.message, true); document.getElementById(f).focus(); }
      err.textContent = refusal(x);
    }
  });
  main().replaceChildren(form);
  showKinds();
  form.querySelector('#e-name').focus();
  validateSchedule();
}

// --- routing ---------------------------------------------------------------------------------

function route() {
  takeTokenFromFragment();
  banner('');
  if (!token()) return showSignIn();
  document.getElementById('nav').hidden = false;
  stopPolling();
  const hash = location.hash || '#/jobs';
  let m;
  for (const a of document.querySelectorAll('#nav a')) a.removeAttribute('aria-current');
  if ((m = /^#\/job\/(.+)$/.exec(hash))) return showJob(decodeURIComponent(m[1]));
  if ((m = /^#\/edit\/(.+)$/.exec(hash))) return showEdit(decodeURIComponent(m[1]));
  if (hash === '#/new') {
    document.getElementById('nav-new').setAttribute('aria-current', 'page');
    return showEdit(null);
  }
  document.getElementById('nav-jobs').setAttribute('aria-current', 'page');
  showJobs();
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  document.getElementById('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn('Signed out.');
  });
  route();
});
