/* 流程实例 detail: the instance's own diagram with its progress marked.
   Data: <script type="application/json" id="pf-diagram-data"> {src, highlights, labels, timeZone};
   the diagram's XML is fetched from src (sent apart from the page and revalidated by its ETag).

   Opening view: the whole diagram when it fits at a readable size (READABLE, labels at ~10 px);
   a wider diagram opens at that size on the current steps (open tasks, waiting timers, errors;
   else waiting timers, else the end reached, else the start), the canvas as tall as the diagram needs (up to MAX_H).
   The toolbar above the canvas (放大 / 缩小 / 适应画布 / 定位当前环节) changes the view; the
   bpmn.io watermark sits in a strip below the drawing (diagram.css), never over it. */
(function () {
  'use strict';
  var dataEl = document.getElementById('pf-diagram-data');
  var container = document.getElementById('pf-diagram');
  if (!dataEl || !container) return;
  var data = JSON.parse(dataEl.textContent);
  var toolbar = document.getElementById('pf-diagram-tools');
  window.__diagramReady = false;

  var READABLE = 0.85;   // task labels 12 px * 0.85: the smallest size that reads comfortably
  var MIN_FOCUS = 0.6;   // several current steps far apart: zoom out this far to show them all
  var MAX_SCALE = 1;
  var PAD = 24;          // screen pixels around the drawing
  var MIN_H = 260;       // canvas height bounds (the drawing area, without the watermark strip)
  var STRIP = 36;        // the watermark strip below the drawing (diagram.css)

  function message(text) {
    var p = document.createElement('p');
    p.className = 'pf-canvas-msg';
    p.textContent = text;
    container.appendChild(p);
  }

  if (!data.src || typeof BpmnJS === 'undefined') {
    message(data.labels.failed);
    window.__diagramReady = true;
    return;
  }

  // 12月13日 00:00 / Dec 13, 00:00 ("12/13" read as American; hour12: false gave "24:00")
  var lang = data.lang || 'zh-CN';
  var fmt = new Intl.DateTimeFormat(lang, {
    timeZone: data.timeZone || 'Asia/Shanghai', month: /^zh/i.test(lang) ? 'long' : 'short',
    day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
  });

  var viewer = new BpmnJS({
    container: container,
    additionalModules: window.pfBpmnTranslate ? [window.pfBpmnTranslate] : []  // bpmn-zh.js
  });
  window.pfViewer = viewer;

  function maxHeight() {
    return Math.max(MIN_H, Math.min(640, Math.round(window.innerHeight * 0.72)));
  }

  fetch(data.src, { credentials: 'same-origin', headers: { Accept: 'application/xml' } }).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.text();
  }).then(function (xml) {
    return viewer.importXML(xml);
  }).then(function () {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    var h = data.highlights;
    var marked = {};
    var completed = {};
    var stacked = {};  // host task id -> due tags already placed below its boundary events

    function mark(id, cls) {
      if (registry.get(id)) { canvas.addMarker(id, cls); marked[id] = true; }
    }
    // Every instance has passed its process's start event.
    var starts = registry.filter(function (el) {
      var bo = el.businessObject;
      return el.type === 'bpmn:StartEvent' && bo && bo.$parent && bo.$parent.$type === 'bpmn:Process';
    });
    starts.forEach(function (el) { h.completed.push(el.id); });
    h.completed.forEach(function (id) { completed[id] = true; mark(id, 'pf-done'); });
    h.active.forEach(function (id) { mark(id, 'pf-active'); });
    Object.keys(h.waiting).forEach(function (id) {
      mark(id, 'pf-waiting');
      if (!registry.get(id)) return;
      var el = registry.get(id);
      var tag = document.createElement('div');
      tag.className = 'pf-overlay';
      tag.textContent = data.labels.due + ' ' + fmt.format(new Date(h.waiting[id]));
      // A boundary event sits on its task's edge: its tag goes below it and to its left, off
      // the task's name and off the event's own label (bpmn-js sets that below and to the
      // right); the tags of several timers on one task (SLA + escalation) stack instead.
      var below = el.type === 'bpmn:BoundaryEvent';
      var host = below && el.host ? el.host.id : null;
      var nth = host ? (stacked[host] = (stacked[host] || 0) + 1) - 1 : 0;
      if (below) tag.className += ' pf-overlay-left';
      overlays.add(id, 'pf-due', {
        position: { top: below ? el.height + 2 + nth * 22 : -24, left: el.width / 2 }, html: tag
      });
    });
    h.errors.forEach(function (id) { mark(id, 'pf-error'); });
    // A sequence flow between two reached elements was taken.
    registry.filter(function (el) { return el.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
      var src = flow.source && flow.source.id, dst = flow.target && flow.target.id;
      if (src && dst && marked[dst] && completed[src]) {
        canvas.addMarker(flow.id, 'pf-done-flow');
      }
    });

    // --- the view ------------------------------------------------------------------------------
    function shapes(ids) {
      return ids.map(function (id) { return registry.get(id); })
        .filter(function (el) { return el && !el.waypoints && el.width !== undefined; });
    }
    function bounds(elements) {
      if (!elements.length) return null;
      var b = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
      elements.forEach(function (el) {
        b.x1 = Math.min(b.x1, el.x); b.y1 = Math.min(b.y1, el.y);
        b.x2 = Math.max(b.x2, el.x + el.width); b.y2 = Math.max(b.y2, el.y + el.height);
      });
      return { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 };
    }
    function current() {
      // Open tasks and errors first; waiting timers only when nothing else is current.
      var now = shapes([].concat(h.active, h.errors));
      if (!now.length) now = shapes(Object.keys(h.waiting));
      if (now.length) return now;
      now = shapes(h.completed).filter(function (el) { return el.type === 'bpmn:EndEvent'; });
      return now.length ? now : starts;
    }
    function inner() {
      // The drawing's bounds in diagram units (independent of the current zoom).
      return canvas.viewbox().inner;
    }
    function fitScale(box, outer) {
      return Math.min(MAX_SCALE, (outer.width - 2 * PAD) / box.width,
        (outer.height - 2 * PAD) / box.height);
    }
    // Show diagram area `box` centred at `scale`, kept on the drawing where it is larger.
    function show(box, scale) {
      var outer = canvas.viewbox().outer;
      var all = inner();
      var w = outer.width / scale, hgt = outer.height / scale, pad = PAD / scale;
      function place(start, size, view, allStart, allSize) {
        var x = start + size / 2 - view / 2;
        if (allSize + 2 * pad <= view) return allStart + allSize / 2 - view / 2;
        return Math.max(allStart - pad, Math.min(x, allStart + allSize + pad - view));
      }
      canvas.viewbox({
        x: place(box.x, box.width, w, all.x, all.width),
        y: place(box.y, box.height, hgt, all.y, all.height),
        width: w, height: hgt
      });
      level();
    }
    function fitAll() {
      var all = inner();
      show(all, fitScale(all, canvas.viewbox().outer));
    }
    function focusCurrent() {
      var box = bounds(current());
      if (!box) { fitAll(); return; }
      var outer = canvas.viewbox().outer;
      var scale = Math.max(MIN_FOCUS, Math.min(READABLE, fitScale(box, outer)));
      if (fitScale(inner(), outer) >= scale) { fitAll(); return; }
      show(box, scale);
    }
    function zoomBy(factor) {
      var scale = Math.max(0.2, Math.min(2, canvas.zoom() * factor));
      canvas.zoom(scale, 'auto');
      level();
    }
    function level() {
      var out = toolbar && toolbar.querySelector('[data-zoom-level]');
      if (out) out.textContent = Math.round(canvas.zoom() * 100) + '%';
    }

    // The canvas is as tall as the drawing needs at the opening scale (within bounds).
    var all = inner();
    var width = canvas.viewbox().outer.width;
    var scale = Math.min(MAX_SCALE, (width - 2 * PAD) / all.width);
    if (scale < READABLE) scale = READABLE;
    var height = Math.round(all.height * scale + 2 * PAD);
    container.style.height = (Math.max(MIN_H, Math.min(maxHeight(), height)) + STRIP) + 'px';
    canvas.resized();
    focusCurrent();

    if (toolbar) {
      toolbar.addEventListener('click', function (event) {
        var button = event.target.closest('button[data-zoom]');
        if (!button) return;
        var what = button.getAttribute('data-zoom');
        if (what === 'in') zoomBy(1.25);
        else if (what === 'out') zoomBy(0.8);
        else if (what === 'fit') fitAll();
        else if (what === 'current') focusCurrent();
      });
      toolbar.hidden = false;
    }
    window.pfDiagram = { fitAll: fitAll, focusCurrent: focusCurrent, zoomBy: zoomBy };
    window.__diagramReady = true;
  }).catch(function (err) {
    message(data.labels.failed + (err && err.message ? ' (' + err.message + ')' : ''));
    window.__diagramReady = true;
  });
})();
