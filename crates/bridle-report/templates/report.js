(function () {
  'use strict';
  var body = document.body;
  var errors = 0;
  window.addEventListener('error', function () {
    errors += 1;
    body.setAttribute('data-errors', String(errors));
  });

  var LEVELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
  var PAGE = 200;
  var HOUR = 3600 * 1000000;
  // Characters that must not reach the reader unseen: controls, bidi controls, zero-width
  // and invisible formatting characters, line/paragraph separators, Unicode tags (the same
  // set as escape.rs `is_hidden`).
  var HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/g;

  function byId(id) { return document.getElementById(id); }

  // Appends device text to an element: text nodes only, hidden characters as markers.
  function put(el, text) {
    text = text === null || text === undefined ? '' : String(text);
    var last = 0;
    HIDDEN.lastIndex = 0;
    var m;
    while ((m = HIDDEN.exec(text)) !== null) {
      if (m.index > last) { el.appendChild(document.createTextNode(text.slice(last, m.index))); }
      var code = m[0].length === 2
        ? ((m[0].charCodeAt(0) - 0xD800) * 0x400 + (m[0].charCodeAt(1) - 0xDC00) + 0x10000)
        : m[0].charCodeAt(0);
      var span = document.createElement('span');
      span.className = 'cc';
      span.title = 'hidden character';
      span.textContent = 'U+' + code.toString(16).toUpperCase().padStart(4, '0');
      el.appendChild(span);
      last = m.index + m[0].length;
    }
    if (last < text.length) { el.appendChild(document.createTextNode(text.slice(last))); }
  }

  function rank(level) { return LEVELS.indexOf(level); }

  // ---- alerts --------------------------------------------------------------------------
  var alerts = Array.prototype.slice.call(document.querySelectorAll('article.alert'));
  var alertText = byId('alert-text');
  var alertLevel = byId('alert-level');
  var alertNew = byId('alert-new');
  function filterAlerts() {
    var q = alertText ? alertText.value.toLowerCase() : '';
    var min = alertLevel && alertLevel.value ? rank(alertLevel.value) : -1;
    var onlyNew = alertNew ? alertNew.checked : false;
    var shown = 0;
    alerts.forEach(function (a) {
      var ok = (!q || a.textContent.toLowerCase().indexOf(q) >= 0) &&
        rank(a.getAttribute('data-level')) >= min &&
        (!onlyNew || a.getAttribute('data-new') === '1');
      a.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var count = byId('alert-count');
    if (count) { count.textContent = shown + ' of ' + alerts.length + ' shown'; }
  }
  [alertText, alertLevel, alertNew].forEach(function (el) {
    if (el) { el.addEventListener('input', filterAlerts); el.addEventListener('change', filterAlerts); }
  });

  // ---- timeline ------------------------------------------------------------------------
  var data = JSON.parse(byId('timeline-data').textContent);
  var rows = data.rows;
  var state = { module: '', level: '', text: '', from: null, to: null, focus: null, page: 0 };
  var moduleSelect = byId('tl-module');
  var modules = {};
  rows.forEach(function (r) { modules[r[2]] = true; });
  Object.keys(modules).sort().forEach(function (m) {
    var o = document.createElement('option');
    o.value = m;
    put(o, m);
    moduleSelect.appendChild(o);
  });

  function matches(r) {
    if (state.module && r[2] !== state.module) { return false; }
    if (state.level) {
      if (r[5] === null || rank(r[5]) < rank(state.level)) { return false; }
    }
    if (state.from !== null) {
      if (r[0] === null || r[0] < state.from || r[0] > state.to) { return false; }
    }
    if (state.text) {
      var hay = (r[1] + ' ' + r[2] + ' ' + r[3] + ' ' + r[4]).toLowerCase();
      if (hay.indexOf(state.text) < 0) { return false; }
    }
    return true;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    if (cls) { td.className = cls; }
    put(td, text);
    tr.appendChild(td);
  }

  function render() {
    var filtered = rows.filter(matches);
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    if (state.page >= pages) { state.page = pages - 1; }
    var tbody = byId('tl').tBodies[0];
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    var start = state.page * PAGE;
    var focusRow = null;
    filtered.slice(start, start + PAGE).forEach(function (r) {
      var tr = document.createElement('tr');
      if (r[5] !== null) { tr.className = 'is-alert'; }
      cell(tr, r[1] || '(no date)', 't');
      cell(tr, r[2]);
      cell(tr, r[3]);
      cell(tr, r[4]);
      if (r[6] !== null && r[6] === state.focus) { tr.className += ' focus'; focusRow = tr; }
      tbody.appendChild(tr);
    });
    var status = byId('tl-status');
    status.textContent = '';
    var what = filtered.length + ' of ' + rows.length + ' events';
    if (state.from !== null) {
      what += ' between ' + new Date(state.from / 1000).toISOString() + ' and ' +
        new Date(state.to / 1000).toISOString();
    }
    put(status, what + (filtered.length ? '; showing ' + (start + 1) + ' to ' +
      Math.min(start + PAGE, filtered.length) : '') + '.');
    byId('tl-page').textContent = 'page ' + (state.page + 1) + ' of ' + pages;
    byId('tl-prev').disabled = state.page === 0;
    byId('tl-next').disabled = state.page >= pages - 1;
    return { filtered: filtered, focusRow: focusRow };
  }

  function reset() { state.page = 0; render(); }
  byId('tl-module').addEventListener('change', function (e) { state.module = e.target.value; reset(); });
  byId('tl-level').addEventListener('change', function (e) { state.level = e.target.value; reset(); });
  byId('tl-text').addEventListener('input', function (e) { state.text = e.target.value.toLowerCase(); reset(); });
  byId('tl-clear').addEventListener('click', function () {
    state.from = null; state.to = null; state.focus = null;
    alerts.forEach(function (a) { a.classList.remove('focus'); });
    reset();
  });
  byId('tl-prev').addEventListener('click', function () { state.page -= 1; render(); });
  byId('tl-next').addEventListener('click', function () { state.page += 1; render(); });

  function jump(time, index) {
    var hours = parseInt(byId('tl-hours').value, 10) || 3;
    state.from = time - hours * HOUR;
    state.to = time + hours * HOUR;
    state.focus = index;
    state.page = 0;
    var filtered = rows.filter(matches);
    for (var i = 0; i < filtered.length; i += 1) {
      if (filtered[i][6] === index) { state.page = Math.floor(i / PAGE); break; }
    }
    var out = render();
    alerts.forEach(function (a) { a.classList.toggle('focus', a.id === 'alert-' + index); });
    var target = out.focusRow || byId('timeline');
    if (target.scrollIntoView) { target.scrollIntoView({ block: 'center' }); }
  }
  Array.prototype.forEach.call(document.querySelectorAll('button.jump'), function (b) {
    b.addEventListener('click', function () {
      jump(Number(b.getAttribute('data-time')), Number(b.getAttribute('data-alert')));
    });
  });
  byId('tl-hours').addEventListener('change', function () {
    if (state.focus !== null && state.from !== null) {
      var hours = parseInt(byId('tl-hours').value, 10) || 3;
      var mid = (state.from + state.to) / 2;
      state.from = mid - hours * HOUR;
      state.to = mid + hours * HOUR;
      reset();
    }
  });

  filterAlerts();
  render();
  // A link to report.html#around-N opens the timeline around alert N.
  var around = /^#around-(\d+)$/.exec(window.location.hash);
  if (around) {
    var button = document.querySelector('button.jump[data-alert="' + around[1] + '"]');
    if (button) { jump(Number(button.getAttribute('data-time')), Number(around[1])); }
  }
  // For automated checks (and curious readers): how many alerts are on screen.
  var visible = alerts.filter(function (a) { return a.offsetParent !== null; }).length;
  body.setAttribute('data-alerts-visible', String(visible));
  body.setAttribute('data-timeline-rows', String(byId('tl').tBodies[0].rows.length));
  body.setAttribute('data-timeline-window', state.from === null ? '' : String(state.from) + '/' + String(state.to));
  body.setAttribute('data-errors', String(errors));
  body.setAttribute('data-ready', '1');
}());
