/* 流程实例 detail: the instance's own diagram with its progress marked.
   Data: <script type="application/json" id="pf-diagram-data"> {xml, highlights, labels, timeZone}. */
(function () {
  'use strict';
  var dataEl = document.getElementById('pf-diagram-data');
  var container = document.getElementById('pf-diagram');
  if (!dataEl || !container) return;
  var data = JSON.parse(dataEl.textContent);
  window.__diagramReady = false;

  function message(text) {
    var p = document.createElement('p');
    p.className = 'pf-canvas-msg';
    p.textContent = text;
    container.appendChild(p);
  }

  if (!data.xml || typeof BpmnJS === 'undefined') {
    message(data.labels.failed);
    window.__diagramReady = true;
    return;
  }

  var fmt = new Intl.DateTimeFormat(data.lang || 'zh-CN', {
    timeZone: data.timeZone || 'Asia/Shanghai', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hour12: false
  });

  var viewer = new BpmnJS({ container: container });
  window.pfViewer = viewer;

  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    var h = data.highlights;
    var marked = {};

    function mark(id, cls) {
      if (registry.get(id)) { canvas.addMarker(id, cls); marked[id] = true; }
    }
    // Every instance has passed its process's start event.
    registry.filter(function (el) {
      var bo = el.businessObject;
      return el.type === 'bpmn:StartEvent' && bo && bo.$parent && bo.$parent.$type === 'bpmn:Process';
    }).forEach(function (el) { h.completed.push(el.id); });
    h.completed.forEach(function (id) { mark(id, 'pf-done'); });
    h.active.forEach(function (id) { mark(id, 'pf-active'); });
    Object.keys(h.waiting).forEach(function (id) {
      mark(id, 'pf-waiting');
      if (!registry.get(id)) return;
      var tag = document.createElement('div');
      tag.className = 'pf-overlay';
      tag.textContent = data.labels.due + ' ' + fmt.format(new Date(h.waiting[id]));
      overlays.add(id, 'pf-due', { position: { top: -26, left: -30 }, html: tag });
    });
    h.errors.forEach(function (id) { mark(id, 'pf-error'); });
    // A sequence flow between two reached elements was taken.
    registry.filter(function (el) { return el.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
      var src = flow.source && flow.source.id, dst = flow.target && flow.target.id;
      if (src && dst && marked[dst] && h.completed.indexOf(src) !== -1) {
        canvas.addMarker(flow.id, 'pf-done-flow');
      }
    });
    canvas.zoom('fit-viewport', 'auto');
    window.__diagramReady = true;
  }).catch(function (err) {
    message(data.labels.failed + (err && err.message ? ' (' + err.message + ')' : ''));
    window.__diagramReady = true;
  });
})();
