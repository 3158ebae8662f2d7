/* planflow — person pickers. Every <select data-person-picker> (single or multiple) becomes a
 * searchable combobox: type part of a name, department or username, pick with the mouse or
 * the keyboard (↑ ↓ Enter, Esc closes); several people show as chips with a remove button.
 * The select stays in the form (hidden) and is kept in step, so the form posts exactly what
 * it posted without script; without script the select is simply there. Options keep the
 * server's order (by pinyin); each carries data-name and data-dept, its text is the label.
 * Words come from the select's data-pp-* attributes (partials/person_picker.html).
 */
(function () {
  'use strict';

  var count = 0;

  function norm(text) { return String(text || '').toLowerCase().replace(/\s+/g, ' ').trim(); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function Picker(select) {
    var n = ++count;
    var words = select.dataset;
    var multiple = select.multiple;
    var required = select.required;
    var id = select.id || ('pp-' + n);
    var people = Array.prototype.map.call(select.options, function (opt, i) {
      return {
        index: i,
        value: opt.value,
        label: opt.textContent.trim(),
        name: opt.dataset.name || opt.textContent.trim(),
        dept: opt.dataset.dept || '',
        haystack: norm(opt.textContent + ' ' + (opt.dataset.dept || ''))
      };
    }).filter(function (p) {
      // a required select's empty option is its "please choose" prompt, not a choice
      return !(p.value === '' && (required || multiple));
    });

    var root = el('div', 'pp' + (multiple ? ' pp-multiple' : ''));
    var chips = el('ul', 'pp-chips');
    chips.setAttribute('aria-label', words.ppChosen || '');
    var input = el('input', 'pp-input');
    input.type = 'text';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.placeholder = words.ppSearch || '';
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    var list = el('ul', 'pp-list');
    list.id = id + '-listbox';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', words.ppOptions || '');
    if (multiple) { list.setAttribute('aria-multiselectable', 'true'); }
    list.hidden = true;
    input.setAttribute('aria-controls', list.id);
    var problem = el('p', 'pp-error');
    problem.id = id + '-problem';
    problem.setAttribute('role', 'alert');
    problem.hidden = true;

    // the label (label[for=id]) and the descriptions now belong to the visible input
    select.id = id + '-select';
    input.id = id;
    ['aria-describedby', 'aria-invalid'].forEach(function (name) {
      if (select.hasAttribute(name)) { input.setAttribute(name, select.getAttribute(name)); }
    });
    if (words.ppHint && select.getAttribute('aria-describedby')) {
      var hint = document.getElementById(select.getAttribute('aria-describedby').split(' ')[0]);
      if (hint) { hint.textContent = words.ppHint; }
    }
    select.required = false;  // checked on submit below: a hidden control cannot show it
    select.hidden = true;
    select.tabIndex = -1;

    if (multiple) { root.appendChild(chips); }
    root.appendChild(input);
    root.appendChild(list);
    root.appendChild(problem);
    select.parentNode.insertBefore(root, select.nextSibling);

    var shown = [];
    var active = -1;
    var typed = false;
    var quiet = false;  // focus the box without opening the list (after removing a chip)

    function option(p) { return select.options[p.index]; }
    function chosen() { return people.filter(function (p) { return option(p).selected; }); }

    function current() {
      var picked = chosen();
      return picked.length ? picked[0] : null;
    }

    function changed() {
      select.dispatchEvent(new Event('change', { bubbles: true }));
      clearProblem();
    }

    function clearProblem() {
      problem.hidden = true;
      problem.textContent = '';
      root.classList.remove('pp-invalid');
      if (!select.hasAttribute('aria-invalid')) { input.removeAttribute('aria-invalid'); }
    }

    function renderChips() {
      if (!multiple) { return; }
      chips.textContent = '';
      chosen().forEach(function (p) {
        var chip = el('li', 'pp-chip');
        chip.appendChild(el('span', 'pp-chip-name', p.name));
        var remove = el('button', 'pp-chip-remove', '×');
        remove.type = 'button';
        remove.setAttribute('aria-label', (words.ppRemove || '{name}').replace('{name}', p.name));
        remove.addEventListener('click', function () {
          option(p).selected = false;
          changed();
          renderChips();
          if (!list.hidden) { render(); }
          quiet = true;
          input.focus();
          quiet = false;
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = !chips.children.length;
    }

    function showValue() {
      if (multiple) { input.value = ''; return; }
      var p = current();
      input.value = p ? p.label : '';
    }

    function setActive(i) {
      var items = list.querySelectorAll('[role=option]');
      if (active >= 0 && items[active]) { items[active].classList.remove('pp-active'); }
      active = shown.length ? Math.max(0, Math.min(i, shown.length - 1)) : -1;
      if (active >= 0) {
        items[active].classList.add('pp-active');
        input.setAttribute('aria-activedescendant', items[active].id);
        var top = items[active].offsetTop;
        var bottom = top + items[active].offsetHeight;
        if (top < list.scrollTop) { list.scrollTop = top; }
        if (bottom > list.scrollTop + list.clientHeight) {
          list.scrollTop = bottom - list.clientHeight;
        }
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }

    function render() {
      var query = typed ? norm(input.value) : '';
      var terms = query ? query.split(' ') : [];
      shown = people.filter(function (p) {
        return terms.every(function (t) { return p.haystack.indexOf(t) !== -1; });
      });
      list.textContent = '';
      shown.forEach(function (p, i) {
        var item = el('li', 'pp-option');
        item.id = id + '-opt-' + p.index;
        item.setAttribute('role', 'option');
        item.setAttribute('aria-selected', option(p).selected ? 'true' : 'false');
        item.dataset.value = p.value;
        item.appendChild(el('span', 'pp-name', p.name));
        if (p.dept) { item.appendChild(el('span', 'pp-dept', p.dept)); }
        if (p.value && p.value !== p.name) { item.appendChild(el('span', 'pp-user', p.value)); }
        item.addEventListener('mousedown', function (e) { e.preventDefault(); });
        item.addEventListener('click', function () { choose(p); });
        item.addEventListener('mousemove', function () { if (active !== i) { setActive(i); } });
        list.appendChild(item);
      });
      if (!shown.length) {
        list.appendChild(el('li', 'pp-empty', words.ppNone || ''));
      }
      var start = 0;
      if (!typed) {
        var p = multiple ? null : current();
        start = p ? shown.indexOf(p) : 0;
      }
      setActive(start);
    }

    function open() {
      if (!list.hidden) { return; }
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      render();
    }

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      typed = false;
    }

    function choose(p) {
      if (multiple) {
        option(p).selected = !option(p).selected;
        typed = false;
        input.value = '';
        changed();
        renderChips();
        render();
      } else {
        select.selectedIndex = p.index;
        changed();
        close();
        showValue();
        input.select();
      }
    }

    input.addEventListener('focus', function () {
      if (!multiple) { input.select(); }
      if (!quiet) { open(); }
    });
    input.addEventListener('mousedown', function () { if (list.hidden) { open(); } });
    input.addEventListener('input', function () {
      typed = true;
      if (list.hidden) {
        list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
      }
      render();
    });
    input.addEventListener('keydown', function (e) {
      switch (e.key) {
        case 'ArrowDown':
          e.preventDefault();
          if (list.hidden) { open(); } else { setActive(active + 1); }
          break;
        case 'ArrowUp':
          e.preventDefault();
          if (!list.hidden) { setActive(active - 1); }
          break;
        case 'Enter':
          if (!list.hidden) {
            e.preventDefault();  // picking someone never submits the form
            if (active >= 0 && shown[active]) { choose(shown[active]); }
          }
          break;
        case 'Escape':
          if (!list.hidden) {
            e.preventDefault();
            close();
            showValue();
          }
          break;
        case 'Backspace':
          if (multiple && input.value === '') {
            var picked = chosen();
            if (picked.length) {
              option(picked[picked.length - 1]).selected = false;
              changed();
              renderChips();
              if (!list.hidden) { render(); }
            }
          }
          break;
        default:
          break;
      }
    });
    root.addEventListener('focusout', function (e) {
      if (root.contains(e.relatedTarget)) { return; }
      if (!multiple && typed && norm(input.value) === '' && !required) {
        var none = people.filter(function (p) { return p.value === ''; })[0];
        if (none) { select.selectedIndex = none.index; changed(); }
      }
      close();
      showValue();
    });

    if (select.form) {
      select.form.addEventListener('submit', function (e) {
        if (!required || chosen().length) { return; }
        e.preventDefault();
        e.stopImmediatePropagation();
        problem.textContent = words.ppRequired || '';
        problem.hidden = false;
        root.classList.add('pp-invalid');
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute(
          'aria-describedby',
          ((input.getAttribute('aria-describedby') || '').replace(problem.id, '') + ' ' +
            problem.id).trim()
        );
        input.focus();
      }, true);
    }

    renderChips();
    showValue();
  }

  function init() {
    Array.prototype.forEach.call(
      document.querySelectorAll('select[data-person-picker]'),
      function (select) {
        if (!select.dataset.ppReady) {
          select.dataset.ppReady = 'true';
          Picker(select);
        }
      }
    );
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
