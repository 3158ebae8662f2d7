/* The three model editors (bpmn-js modeler, form-js editor, dmn-js) and their deploy button.
   Data: <script type="application/json" id="pf-editor-data"> {key, file, kind, content, deployUrl,
   labels}. Deploy posts {file, content} as JSON with the CSRF token in X-CSRF-Token; a refused
   model comes back as 400 with details.problems[] ({file, element_id, message}). */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('pf-editor-data').textContent);
  var container = document.getElementById('pf-editor');
  var button = document.getElementById('pf-deploy');
  var result = document.getElementById('pf-result');
  var problemsBox = document.getElementById('pf-problems');
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var L = data.labels;
  var editor = null;
  var invalidMarks = [];
  window.__editorReady = false;
  window.__deployResult = null;

  function say(text, kind) {
    result.textContent = text;
    result.className = 'pf-result' + (kind ? ' ' + kind : '');
  }
  function dirty() { say(L.dirty); }
  function ready() { window.__editorReady = true; }
  function fail(err) {
    say(L.failed + (err && err.message ? ' (' + err.message + ')' : ''), 'error');
    window.__editorError = String(err && err.message || err);
    ready();
  }

  // --- one adapter per kind: load(), content() -> Promise<string>, mark(ids), unmark() ----------
  var adapters = {
    bpmn: {
      load: function () {
        // bpmn-js's own texts (palette, context pad, 更改元素类型 menu) in the page's language.
        var modules = window.pfBpmnTranslate ? [window.pfBpmnTranslate] : [];
        editor = new BpmnJS({ container: container, additionalModules: modules });
        window.pfEditor = editor;
        return editor.importXML(data.content).then(function () {
          fitBesidePalette(editor);
          editor.on('commandStack.changed', dirty);
        });
      },
      content: function () { return editor.saveXML({ format: true }).then(function (r) { return r.xml; }); },
      has: function (id) { return !!editor.get('elementRegistry').get(id); },
      name: function (id) {
        var el = editor.get('elementRegistry').get(id);
        var name = el && el.businessObject && el.businessObject.name;
        return name ? String(name).replace(/\s+/g, ' ').trim() : '';
      },
      mark: function (id) { editor.get('canvas').addMarker(id, 'pf-invalid'); },
      unmark: function (id) {
        if (editor.get('elementRegistry').get(id)) editor.get('canvas').removeMarker(id, 'pf-invalid');
      },
      show: function (id) {
        var el = editor.get('elementRegistry').get(id);
        if (!el) return;
        editor.get('canvas').scrollToElement(el);
        editor.get('selection').select(el);
      }
    },
    form: {
      load: function () {
        editor = new FormEditor.FormEditor({ container: container });
        window.pfEditor = editor;
        return editor.importSchema(data.content).then(function () {
          editor.on('changed', dirty);
        });
      },
      content: function () { return Promise.resolve(JSON.stringify(editor.saveSchema(), null, 2)); },
      has: function () { return false; }
    },
    dmn: {
      load: function () {
        // dmn-js's own texts in the page's language, given to each view (dmn-js 17 drops
        // common.additionalModules).
        var zh = window.pfDmnTranslate ? { additionalModules: [window.pfDmnTranslate] } : {};
        editor = new DmnJS({ container: container, drd: zh, decisionTable: zh,
                             literalExpression: zh, boxedExpression: zh });
        window.pfEditor = editor;
        return editor.importXML(data.content).then(function () {
          var view = editor.getViews().find(function (v) { return v.type === 'decisionTable'; });
          if (view) return editor.open(view);
        }).then(function () {
          editor.on('views.changed', function () {
            var viewer = editor.getActiveViewer();
            if (viewer) viewer.on('elements.changed', dirty);
          });
          var viewer = editor.getActiveViewer();
          if (viewer) viewer.on('elements.changed', dirty);
        });
      },
      content: function () { return editor.saveXML({ format: true }).then(function (r) { return r.xml; }); },
      has: function () { return false; }
    }
  };
  var adapter = adapters[data.kind];

  // The whole diagram, in the part of the canvas the palette (top left) does not cover.
  function fitBesidePalette(modeler) {
    var canvas = modeler.get('canvas');
    var palette = container.querySelector('.djs-palette');
    var left = palette ? palette.getBoundingClientRect().right - container.getBoundingClientRect().left : 0;
    var vb = canvas.viewbox(), inner = vb.inner, outer = vb.outer, pad = 24;
    var room = { width: outer.width - left - 2 * pad, height: outer.height - 2 * pad };
    if (room.width < 200) { canvas.zoom('fit-viewport', 'auto'); return; }
    var scale = Math.min(1, room.width / inner.width, room.height / inner.height);
    canvas.viewbox({
      x: inner.x - (left + pad + (room.width - inner.width * scale) / 2) / scale,
      y: inner.y - (pad + (room.height - inner.height * scale) / 2) / scale,
      width: outer.width / scale,
      height: outer.height / scale
    });
  }

  function clearProblems() {
    invalidMarks.forEach(function (id) { adapter.unmark(id); });
    invalidMarks = [];
    problemsBox.textContent = '';
  }

  function showProblems(message, problems) {
    var box = document.createElement('div');
    box.className = 'pf-alert error';
    var title = document.createElement('strong');
    title.textContent = L.invalid;
    box.appendChild(title);
    var list = document.createElement('ul');
    list.className = 'pf-problems';
    (problems && problems.length ? problems : [{ message: message }]).forEach(function (p) {
      var li = document.createElement('li');
      var name = (p.element_id && adapter.name ? adapter.name(p.element_id) : '') || p.element_name || '';
      var element = p.element_id ? (name ? '「' + name + '」(' + p.element_id + ')' : p.element_id) : '';
      var where = [p.file, element].filter(Boolean).join(' · ');
      li.textContent = (where ? where + '：' : '') + (p.message || '');
      if (p.element_id && adapter.has(p.element_id)) {
        adapter.mark(p.element_id);
        invalidMarks.push(p.element_id);
        var go = document.createElement('button');
        go.type = 'button';
        go.className = 'linkbutton';
        go.textContent = L.show;
        go.setAttribute('data-element-id', p.element_id);
        go.addEventListener('click', function () { adapter.show(p.element_id); });
        li.appendChild(go);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    problemsBox.appendChild(box);
  }

  function deploy() {
    button.disabled = true;
    clearProblems();
    say(L.deploying);
    adapter.content().then(function (content) {
      return fetch(data.deployUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
        body: JSON.stringify({ file: data.file, content: content })
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (r) {
      window.__deployResult = r.body;
      if (r.ok) {
        say(r.body.message, 'ok');
        document.getElementById('pf-version').textContent = 'v' + r.body.version;
      } else {
        var err = r.body.error || {};
        say(L.invalid.replace(/[：:]\s*$/, ''), 'error');  // the list below says what
        showProblems(err.message, (err.details || {}).problems);
      }
    }).catch(function (err) {
      // The request did not get an answer (network, server down): nothing was deployed.
      window.__deployResult = { error: { message: String(err) } };
      say(container.getAttribute('data-network-error') || L.failed, 'error');
    }).then(function () { button.disabled = false; });
  }

  button.addEventListener('click', deploy);
  adapter.load().then(ready, fail);
})();
