/* planflow — the task and start forms: render a form-js schema, submit it with fetch (JSON,
 * CSRF header) and show the server's answer: per-field errors at the fields (the typed data
 * stays), a clear message for 409/403/404/400, or go where the server says on success.
 *
 * Config comes from <script type="application/json" id="staff-form-config">:
 *   { schema, data, readonly, submitUrl, inboxUrl, loginUrl, lang, text, validation,
 *     partial, commentInput }
 * form-js keys errors by component id and data by key; the server returns both per field.
 * `partial` (a delegate handing the task back, 完成委派): only the fields filled in are sent
 * and the server validates just those (required fields are the owner's business), with the
 * text of the `commentInput` element as `comment`.
 */
(function () {
  'use strict';

  var configEl = document.getElementById('staff-form-config');
  if (!configEl) { return; }
  var cfg = JSON.parse(configEl.textContent);
  var text = cfg.text || {};
  var container = document.getElementById('staff-form');
  var statusBox = document.getElementById('staff-form-status');
  var submitButton = document.getElementById('staff-submit');
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var form = null;
  var busy = false;

  // --- a draft across a new login -----------------------------------------------------------
  // When the session has ended (401) or the page has expired (400 without a body) the person
  // must log in again or reload, which leaves this page: what they sent is kept in this tab
  // (sessionStorage) and put back into the form when the page opens again. Nothing else is
  // stored, and the draft is taken (removed) as soon as it is put back.
  var DRAFT_KEY = 'planflow-draft:' + window.location.pathname;

  function keepDraft(data) {
    try { window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(data)); } catch (e) { /* full or off */ }
  }

  function takeDraft() {
    try {
      var raw = window.sessionStorage.getItem(DRAFT_KEY);
      window.sessionStorage.removeItem(DRAFT_KEY);
      var draft = raw ? JSON.parse(raw) : null;
      return draft && typeof draft === 'object' && !Array.isArray(draft) ? draft : null;
    } catch (e) {
      return null;
    }
  }

  // --- messages -----------------------------------------------------------------------------

  function format(template, params) {
    return String(template || '').replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? params[name] : all;
    });
  }

  function clearStatus() {
    statusBox.hidden = true;
    statusBox.textContent = '';
    statusBox.className = 'staff-alert';
  }

  /* Show a message above the form; `items` (optional) lists field problems; `link` adds one
   * link (e.g. back to the inbox). Built with textContent only: nothing is parsed as HTML. */
  function showStatus(message, items, link) {
    statusBox.textContent = '';
    statusBox.className = 'staff-alert staff-alert-error';
    var p = document.createElement('p');
    p.textContent = message;
    statusBox.appendChild(p);
    if (items && items.length) {
      var ul = document.createElement('ul');
      items.forEach(function (item) {
        var li = document.createElement('li');
        li.textContent = item.label ? item.label + '：' + item.message : item.message;
        ul.appendChild(li);
      });
      statusBox.appendChild(ul);
    }
    if (link) {
      var a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      statusBox.appendChild(a);
    }
    statusBox.hidden = false;
    statusBox.focus();
  }

  // --- server errors at the fields ----------------------------------------------------------

  function errorsState(fields) {
    var errors = {};
    fields.forEach(function (field) {
      if (!field.id) { return; }
      var target = errors;
      var keys = [field.id].concat(field.indexes || []);
      for (var i = 0; i < keys.length - 1; i++) {
        var k = String(keys[i]);
        if (typeof target[k] !== 'object' || target[k] === null || Array.isArray(target[k])) {
          target[k] = {};
        }
        target = target[k];
      }
      target[String(keys[keys.length - 1])] = [field.message];
    });
    return errors;
  }

  function showFieldErrors(fields) {
    if (form) {
      form._setState({ errors: errorsState(fields) });
    }
    showStatus(format(text.fix_errors_count, { n: fields.length }), fields);
  }

  function focusFirstInvalid() {
    window.requestAnimationFrame(function () {
      var el = container.querySelector(
        '.fjs-has-errors input, .fjs-has-errors textarea, .fjs-has-errors select, ' +
        '.fjs-has-errors [tabindex]'
      );
      if (!el) { return; }
      el.focus();
      // A searchable select (a person picker) opens its list on focus, which would cover the
      // error just shown under it: close the list, keep the focus.
      if (el.closest('.fjs-form-field-select, .fjs-form-field-taglist')) {
        el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
      }
    });
  }

  // --- submitting ---------------------------------------------------------------------------

  function setBusy(on) {
    busy = on;
    if (!submitButton) { return; }
    submitButton.disabled = on;
    submitButton.setAttribute('aria-busy', on ? 'true' : 'false');
    submitButton.textContent = on ? text.submitting : submitButton.getAttribute('data-label');
  }

  function messageFor(status, body) {
    if (status === 400 && !body) { return text.expired; }
    if (status === 401) { return text.login; }
    if (body && body.error && body.error.message) { return body.error.message; }
    if (status === 409) { return text.conflict; }
    if (status === 403) { return text.forbidden; }
    if (status === 404) { return text.not_found; }
    return text.server;
  }

  function payload(data) {
    var body = { data: data };
    var comment = cfg.commentInput ? document.getElementById(cfg.commentInput) : null;
    if (comment) { body.comment = comment.value; }
    return body;
  }

  function isEmpty(value) {
    return value === null || value === undefined || value === '' ||
      (Array.isArray(value) && value.length === 0);
  }

  // What the delegate filled in; form-js's own submit() would insist on every required field.
  function partialData() {
    var all = form._getSubmitData();
    var out = {};
    Object.keys(all).forEach(function (key) {
      if (!isEmpty(all[key])) { out[key] = all[key]; }
    });
    return out;
  }

  function post(data) {
    if (busy) { return; }
    setBusy(true);
    clearStatus();
    fetch(cfg.submitUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        'Accept': 'application/json',
        'X-CSRF-Token': csrf
      },
      body: JSON.stringify(payload(data))
    }).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      var parsed = type.indexOf('application/json') === 0 ? response.json() : Promise.resolve(null);
      return parsed.then(function (body) { return { status: response.status, body: body }; });
    }).then(function (result) {
      var body = result.body;
      if (result.status < 300 && body && body.ok) {
        window.location.assign(body.redirect);
        return;
      }
      setBusy(false);
      if (result.status === 422 && body && body.error && body.error.fields) {
        showFieldErrors(body.error.fields);
        focusFirstInvalid();
        return;
      }
      var link = null;
      if (result.status === 400 && !body) { keepDraft(data); }  // expired page: kept for the reload
      if (result.status === 409 || result.status === 403 || result.status === 404) {
        link = { href: cfg.inboxUrl, text: text.go_inbox };
      } else if (result.status === 401) {
        keepDraft(data);
        link = {
          href: cfg.loginUrl + '?next=' + encodeURIComponent(window.location.pathname),
          text: text.go_login
        };
      }
      showStatus(messageFor(result.status, body), null, link);
    }).catch(function () {
      setBusy(false);
      showStatus(text.network);
    });
  }

  function onSubmitEvent(event) {
    var errors = event.errors || {};
    if (Object.keys(errors).length) {
      showStatus(text.fix_errors);
      focusFirstInvalid();
      return;
    }
    post(event.data || {});
  }

  // --- start --------------------------------------------------------------------------------

  function submitNow() {
    if (form && cfg.partial) {
      post(partialData());  // the server checks the fields sent, answering 422 per field
    } else if (form) {
      form.submit();  // validates in the browser, then fires 'submit' (handled above)
    } else {
      post({});
    }
  }

  /* Submit what is on screen. A field that still has focus is blurred (form-js commits a
   * field's value on blur), and the data is read one task later, after form-js has rendered
   * every change already typed: never a value from before the last keystroke. */
  var submitQueued = false;
  if (submitButton) {
    submitButton.addEventListener('click', function () {
      if (busy || submitQueued) { return; }
      var active = document.activeElement;
      if (active && container.contains(active) && typeof active.blur === 'function') {
        active.blur();
      }
      submitQueued = true;
      window.setTimeout(function () {
        submitQueued = false;
        submitNow();
      }, 0);
    });
  }

  if (!cfg.schema) { return; }

  form = new FormViewer.Form({
    container: container,
    properties: { readOnly: !!cfg.readonly },
    // No input debounce: every keystroke goes into the form's data at once. With form-js's
    // default (300 ms) a number field re-sent its value 300 ms after Tab, the form re-rendered
    // the next field with its stale (empty) value and the browser's text there was replaced:
    // "人力安排两人" typed right after Tab was saved as "安排两人", or as "" (issue 14).
    debounce: false
  });
  // form-js in the page language: date picker, validation messages, its own words
  // (form-js-zh.js, loaded with the form by pages/staff_form.html).
  if (window.PlanflowFormLocale) {
    window.PlanflowFormLocale.apply(form, container, { lang: cfg.lang, validation: cfg.validation });
  }
  form.on('submit', onSubmitEvent);
  var draft = cfg.readonly ? null : takeDraft();
  var data = Object.assign({}, cfg.data || {}, draft || {});
  form.importSchema(cfg.schema, data).then(function () {
    container.setAttribute('data-ready', 'true');
    if (draft) {
      statusBox.textContent = text.restored;
      statusBox.className = 'staff-alert staff-alert-info';
      statusBox.hidden = false;
    }
  }).catch(function (error) {
    showStatus(text.load_failed);
    console.error(error);  // a broken form is a real problem: surface it
  });
}());
