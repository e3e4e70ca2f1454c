/**
 * The viewer's page, script and style. Plain HTML and JS with no build step. The script builds
 * every element with `textContent`, never `innerHTML`, so run data (model text, tool input and
 * output, error messages) is always shown as text; the Content-Security-Policy allows only these
 * same-origin files, so even a missed spot could not run an injected script.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>loopwork runs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="viewer.css">
<script src="viewer.js" defer></script>
</head>
<body>
<header><h1>loopwork runs</h1>
<label>status <select id="status"><option value="">any</option></select></label>
<span id="list-state" role="status"></span></header>
<main>
<section id="list"><table><thead><tr><th>run</th><th>status</th><th>task</th><th>queued</th><th>cost</th></tr></thead><tbody id="runs"></tbody></table>
<button id="more" hidden>more</button></section>
<section id="run" hidden>
<h2 id="run-title"></h2>
<dl id="run-facts"></dl>
<p id="run-totals"></p>
<p id="live" role="status"></p>
<ol id="turns"></ol>
</section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f}
header{display:flex;gap:1.5em;align-items:center;padding:.5em 1em;background:#f4f4f6;border-bottom:1px solid #ddd}
h1{font-size:1.1em;margin:0}
main{display:grid;grid-template-columns:minmax(22em,1fr) 2fr;gap:1em;padding:1em}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.25em .5em;border-bottom:1px solid #eee;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:18em}
tr.run{cursor:pointer}tr.run:hover,tr.selected{background:#eef3ff}
.status-completed{color:#16794c}.status-running,.status-queued{color:#0b63c5}
.status-failed,.status-timed_out,.status-dead_lettered,.status-budget_exceeded,.status-cancelled,.status-max_turns{color:#b3261e}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{color:#666}dd{margin:0}
ol#turns{list-style:none;padding:0}
li.turn{border:1px solid #ddd;border-radius:6px;padding:.5em .75em;margin-bottom:.75em}
.turn-head{display:flex;justify-content:space-between;color:#555}
.text{white-space:pre-wrap}
.tool{background:#fafafa;border-left:3px solid #999;margin:.4em 0;padding:.25em .5em}
.tool.failed{border-color:#b3261e}.tool.finished{border-color:#16794c}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0;max-height:16em;overflow:auto}
`;

export const PAGE_JS = `'use strict';
(function () {
  var STATUSES = ['queued','running','completed','max_turns','budget_exceeded','waiting_input','failed','timed_out','cancelled','dead_lettered'];
  var EVENT_TYPES = ['run-started','turn-started','text-delta','turn-finished','tool-call-started','tool-call-finished','tool-call-failed','model-retry','budget-warning','suspended','run-finished','task-finished','task-retried','event-too-large','stream-closed'];
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function usd(value) { return typeof value === 'number' ? '$' + value.toFixed(4) : '-'; }
  function when(ms) { return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-'; }
  function tokens(usage) { return usage ? usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens : 0; }
  function json(value) { try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); } }
  function getJson(path) {
    return fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) return response.text().then(function (text) { throw new Error(response.status + ': ' + text); });
      return response.json();
    });
  }

  var selected = null;
  var source = null;
  var cursor = null;

  STATUSES.forEach(function (status) { var option = el('option', status); option.value = status; $('status').appendChild(option); });
  $('status').addEventListener('change', function () { loadRuns(false); });
  $('more').addEventListener('click', function () { loadRuns(true); });

  function loadRuns(more) {
    var query = new URLSearchParams({ limit: '50' });
    if ($('status').value) query.set('status', $('status').value);
    if (more && cursor) query.set('cursor', cursor);
    return getJson('api/runs?' + query).then(function (page) {
      var body = $('runs');
      if (!more) body.replaceChildren();
      page.runs.forEach(function (run) {
        var row = el('tr', null, 'run' + (run.runId === selected ? ' selected' : ''));
        row.dataset.runId = run.runId;
        row.appendChild(el('td', run.runId));
        row.appendChild(el('td', run.status, 'status-' + run.status));
        row.appendChild(el('td', run.taskType));
        row.appendChild(el('td', when(run.queuedAt)));
        row.appendChild(el('td', usd(run.costUsd)));
        row.addEventListener('click', function () { location.hash = 'run=' + encodeURIComponent(run.runId); });
        body.appendChild(row);
      });
      cursor = page.cursor || null;
      $('more').hidden = !cursor;
      $('list-state').textContent = body.children.length + ' runs';
    }).catch(function (error) { $('list-state').textContent = 'cannot list runs: ' + error.message; });
  }

  function showRun(runId) {
    if (source) { source.close(); source = null; }
    selected = runId;
    Array.prototype.forEach.call(document.querySelectorAll('tr.run'), function (row) {
      row.classList.toggle('selected', row.dataset.runId === runId);
    });
    $('run').hidden = false;
    $('run-title').textContent = runId;
    $('turns').replaceChildren();
    $('run-facts').replaceChildren();
    $('run-totals').textContent = '';
    $('live').textContent = 'loading…';
    var state = { turns: {}, totalTokens: 0, costUsd: 0 };
    var path = 'api/runs/' + encodeURIComponent(runId);
    getJson(path).then(function (record) {
      if (selected !== runId) return;
      facts(record);
      follow(runId, path + '/events', state);
    }).catch(function (error) { $('live').textContent = 'cannot load the run: ' + error.message; });
  }

  function facts(record) {
    var list = $('run-facts');
    list.replaceChildren();
    function add(name, value, className) { if (value === undefined || value === null) return; list.appendChild(el('dt', name)); list.appendChild(el('dd', value, className)); }
    add('status', record.status, 'status-' + record.status);
    add('task', record.taskType);
    add('attempt', record.attempt + ' of ' + record.maxAttempts);
    add('queued', when(record.queuedAt));
    if (record.startedAt) add('started', when(record.startedAt));
    if (record.finishedAt) add('finished', when(record.finishedAt));
    if (record.error) add('error', record.error.code + ': ' + record.error.message);
    if (record.output !== undefined) add('output', typeof record.output === 'string' ? record.output : json(record.output));
  }

  function turnOf(state, number) {
    var turn = state.turns[number];
    if (turn) return turn;
    var item = el('li', null, 'turn');
    item.dataset.turn = String(number);
    var head = el('div', null, 'turn-head');
    var title = el('strong', 'turn ' + number);
    var usage = el('span', 'running…', 'usage');
    head.appendChild(title); head.appendChild(usage);
    var text = el('div', '', 'text');
    var tools = el('div', null, 'tools');
    item.appendChild(head); item.appendChild(text); item.appendChild(tools);
    $('turns').appendChild(item);
    turn = state.turns[number] = { item: item, usage: usage, text: text, tools: tools, calls: {} };
    return turn;
  }

  function apply(state, data, runId) {
    if (!data || typeof data.type !== 'string') return;
    if (data.type === 'text-delta') turnOf(state, data.turn).text.textContent += String(data.text);
    else if (data.type === 'turn-started') turnOf(state, data.turn);
    else if (data.type === 'tool-call-started') {
      var box = el('div', null, 'tool running');
      box.appendChild(el('strong', data.toolName));
      box.appendChild(el('pre', json(data.input), 'input'));
      var result = el('pre', '…', 'output');
      box.appendChild(result);
      var turn = turnOf(state, data.turn);
      turn.tools.appendChild(box);
      turn.calls[data.toolCallId] = { box: box, result: result };
    } else if (data.type === 'tool-call-finished' || data.type === 'tool-call-failed') {
      var calls = turnOf(state, data.turn).calls;
      var call = calls[data.toolCallId];
      if (!call) return;
      var failed = data.type === 'tool-call-failed';
      call.box.className = 'tool ' + (failed ? 'failed' : 'finished');
      call.result.textContent = (failed ? data.reason + ': ' + data.message : String(data.output)) + '  (' + data.durationMs + ' ms)';
    } else if (data.type === 'turn-finished') {
      var finished = turnOf(state, data.turn);
      finished.usage.textContent = tokens(data.usage) + ' tokens (' + data.usage.inputTokens + ' in, ' + data.usage.outputTokens + ' out) · ' + usd(data.costUsd) + ' · ' + data.stopReason;
      state.totalTokens += tokens(data.usage);
      state.costUsd += data.costUsd;
      $('run-totals').textContent = 'total: ' + state.totalTokens + ' tokens · ' + usd(state.costUsd);
    } else if (data.type === 'task-retried') {
      $('turns').appendChild(el('li', 'attempt ' + data.attempt + ' failed: ' + data.error.message + ' (retrying)', 'turn'));
    } else if (data.type === 'event-too-large') {
      $('turns').appendChild(el('li', 'an event of ' + data.bytes + ' bytes was too large to keep', 'turn'));
    } else if (data.type === 'task-finished') {
      $('live').textContent = 'ended: ' + data.status;
      getJson('api/runs/' + encodeURIComponent(runId)).then(function (record) { if (selected === runId) facts(record); }, function () {});
      loadRuns(false);
    }
  }

  function follow(runId, path, state) {
    $('live').textContent = 'following live…';
    var events = new EventSource(path);
    source = events;
    EVENT_TYPES.forEach(function (type) {
      events.addEventListener(type, function (message) {
        if (selected !== runId) return;
        var data;
        try { data = JSON.parse(message.data); } catch (e) { return; }
        apply(state, data, runId);
        if (data.type === 'task-finished') { events.close(); }
      });
    });
    events.addEventListener('error', function () {
      if (events.readyState === EventSource.CLOSED && selected === runId && $('live').textContent.indexOf('ended') !== 0) $('live').textContent = 'disconnected';
    });
  }

  function route() {
    var match = /^#run=(.+)$/.exec(location.hash);
    if (match) showRun(decodeURIComponent(match[1]));
  }
  window.addEventListener('hashchange', route);
  loadRuns(false).then(route);
  setInterval(function () { if (!cursor) loadRuns(false); }, 5000);
})();
`;
