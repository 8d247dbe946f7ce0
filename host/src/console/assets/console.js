/* global document, window, EventSource */
// Live progress of a run page: reads the run's event stream (the console passes on the API's own)
// and updates the counts per entity and per target; at the end it reloads the page, which then shows
// the final counts, each product's summary and the issues. Text only (textContent), never HTML.
'use strict';
(function () {
  var section = document.querySelector('[data-live]');
  if (!section || typeof EventSource === 'undefined') return;
  var runId = section.getAttribute('data-live');
  var note = document.getElementById('live-note');
  var SOURCE_KEYS = ['read', 'rejected', 'created', 'updated', 'unchanged', 'deleted', 'skipped'];
  var TARGET_KEYS = ['created', 'updated', 'unchanged', 'deleted', 'skipped', 'errors'];

  function cell(tag, text, className) {
    var el = document.createElement(tag);
    el.textContent = String(text);
    if (tag === 'th') el.setAttribute('scope', 'row');
    if (className) el.className = className;
    return el;
  }
  function fill(tableId, rows) {
    var body = document.querySelector('#' + tableId + ' tbody');
    if (!body) return;
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (cells) {
      var tr = document.createElement('tr');
      cells.forEach(function (c, i) {
        tr.appendChild(cell(i === 0 ? 'th' : 'td', c, typeof c === 'number' ? 'num' : ''));
      });
      body.appendChild(tr);
    });
  }
  function show(data) {
    var counts = (data && data.counts) || {};
    var source = counts.source || {};
    fill(
      'source-counts',
      Object.keys(source).map(function (entity) {
        return [entity].concat(
          SOURCE_KEYS.map(function (k) {
            return source[entity][k] || 0;
          }),
        );
      }),
    );
    var targets = counts.targets || {};
    var rows = [];
    Object.keys(targets).forEach(function (target) {
      var t = targets[target] || {};
      var entities = t.entities || {};
      Object.keys(entities).forEach(function (entity) {
        rows.push(
          [target + ' (' + (t.status || '') + ')', entity].concat(
            TARGET_KEYS.map(function (k) {
              return entities[entity][k] || 0;
            }),
          ),
        );
      });
    });
    fill('target-counts', rows);
    var issues = counts.issues || {};
    document.getElementById('issue-errors').textContent = String(issues.errors || 0);
    document.getElementById('issue-warnings').textContent = String(issues.warnings || 0);
    if (data && data.status) {
      var status = document.getElementById('run-status');
      status.textContent = data.status;
      status.className = 'status status-' + data.status;
    }
    if (note)
      note.textContent =
        'Live: ' +
        (data && data.phase ? data.phase : 'waiting') +
        (data && data.entity ? ' ' + data.entity : '') +
        (data && data.target ? ' → ' + data.target : '') +
        '.';
  }

  var stream = new EventSource('/console/runs/' + encodeURIComponent(runId) + '/events');
  stream.addEventListener('progress', function (e) {
    show(JSON.parse(e.data));
  });
  stream.addEventListener('end', function (e) {
    stream.close();
    var run = JSON.parse(e.data);
    show(run);
    if (note) note.textContent = 'Finished: ' + (run && run.status) + '. Loading the summary…';
    window.location.reload();
  });
  stream.onerror = function () {
    if (note) note.textContent = 'Live progress interrupted; reload the page to see where the run is.';
    stream.close();
  };
})();
