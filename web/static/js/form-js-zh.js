/* planflow — form-js in Chinese (zh-CN), for the task and start forms (task-form.js).
 *
 * form-js 1.x has no translation service of its own (bpmn-io/form-js#77 is open), so this
 * module translates it through the three places its words come from:
 *   1. the date picker is flatpickr, whose own l10n mechanism we use: flatpickr.localize()
 *      with Chinese weekdays and months, the week starting on 周一 (Monday);
 *   2. validation messages come from form-js's `validator` service: its results are mapped to
 *      the page's messages (the server's catalog, `cfg.validation`) before they are shown;
 *   3. the few words form-js writes into its components ("Select", "Search", "No results",
 *      "Add new", the date placeholder "yyyy/mm/dd", …) are replaced where they are rendered,
 *      in the form's container, by a MutationObserver — before the browser paints them.
 * The bpmn.io watermark is left exactly as it is. `apply` does nothing for English pages.
 *
 *   PlanflowFormLocale.apply(form, container, { lang: 'zh', validation: {...} })
 * must run after `new FormViewer.Form(...)` and before `importSchema`.
 */
(function () {
  'use strict';

  var WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六'];
  var MONTHS = ['一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '十一', '十二'];

  var FLATPICKR_ZH = {
    weekdays: {
      shorthand: WEEKDAYS.map(function (d) { return '周' + d; }),
      longhand: WEEKDAYS.map(function (d) { return '星期' + d; })
    },
    months: {
      shorthand: MONTHS.map(function (m, i) { return (i + 1) + '月'; }),
      longhand: MONTHS.map(function (m) { return m + '月'; })
    },
    firstDayOfWeek: 1,
    ordinal: function () { return ''; },
    rangeSeparator: ' 至 ',
    weekAbbreviation: '周',
    scrollTitle: '滚动切换',
    toggleTitle: '点击切换',
    amPM: ['上午', '下午'],
    yearAriaLabel: '年',
    monthAriaLabel: '月',
    hourAriaLabel: '时',
    minuteAriaLabel: '分',
    time_24hr: true
  };

  // The words form-js 1.x writes itself (form-js-viewer: Select, SearchableSelect, Taglist,
  // DropdownList, DynamicList, Numberfield, Timepicker, Table, FilePicker, Image).
  var WORDS = {
    'Select': '请选择',
    'Search': '输入以搜索',
    'No results': '无匹配项',
    'All values selected': '已全部选择',
    'Add new': '添加一行',
    'Collapse': '收起',
    'Remove tag': '移除',
    'Skip to search': '跳到搜索框',
    'Increment': '增加',
    'Decrement': '减少',
    'hh:mm': '时:分',
    'hh:mm --': '时:分',
    'Nothing to show.': '暂无数据',
    'Previous page': '上一页',
    'Next page': '下一页',
    'Browse': '选择文件',
    'No files selected': '未选择文件',
    'This is an image placeholder': '图片'
  };
  var PATTERNS = [
    [/^Remove list item (\d+)$/, '删除第 $1 行'],
    [/^Expand all \((\d+)\)$/, '展开全部（$1）'],
    [/^(\d+) files selected$/, '已选择 $1 个文件'],
    [/^Download (.+)$/, '下载 $1']
  ];
  // form-js's date placeholder in the browser's date order: yyyy/mm/dd, mm/dd/yyyy, dd.mm.yyyy
  var DATE_FORMAT = /^(?=.*yyyy)(?=.*mm)(?=.*dd)[ymd/.\-\s]+$/;
  var ATTRIBUTES = ['placeholder', 'aria-label', 'title', 'alt'];

  // The validation messages form-js's validator produces, by the server catalog's key.
  var RULES = [
    [/^Field is required\.$/, 'required'],
    [/^Field must have minimum value of (.+)\.$/, 'min'],
    [/^Field must have maximum value of (.+)\.$/, 'max'],
    [/^Field must have minimum length of (.+)\.$/, 'minLength'],
    [/^Field must have maximum length of (.+)\.$/, 'maxLength'],
    [/^Field must be a valid email\.$/, 'email'],
    [/^Field must be a valid\s+international phone number/, 'phone'],
    [/^Field must match pattern /, 'pattern'],
    [/^Value is not a number\.$/, 'number'],
    [/^Value is expected to be an integer\.$/, 'integer'],
    [/^Value is expected to have at most (\d+) decimal digit/, 'decimals'],
    [/^Please select a valid value, the two nearest valid values are (.+) and (.+)\.$/, 'step']
  ];

  function format(template, params) {
    return String(template || '').replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? params[name] : all;
    });
  }

  /* The Chinese for one of form-js's own texts, or null when `text` is not one. */
  function translate(text) {
    var word = String(text || '').trim();
    if (!word) { return null; }
    if (Object.prototype.hasOwnProperty.call(WORDS, word)) {
      return text.replace(word, WORDS[word]);
    }
    for (var i = 0; i < PATTERNS.length; i++) {
      if (PATTERNS[i][0].test(word)) {
        return text.replace(word, word.replace(PATTERNS[i][0], PATTERNS[i][1]));
      }
    }
    if (DATE_FORMAT.test(word)) {
      return text.replace(word, word.replace('yyyy', '年').replace('mm', '月').replace('dd', '日'));
    }
    return null;
  }

  function message(text, validation) {
    for (var i = 0; i < RULES.length; i++) {
      var match = RULES[i][0].exec(text);
      var template = validation[RULES[i][1]];
      if (match && template) {
        return format(template, { 0: match[1] || '', 1: match[2] || '' });
      }
    }
    return text;
  }

  function localiseValidator(form, validation) {
    if (!validation) { return; }
    var validator = form.get('validator');
    var original = validator.validateFieldInstance.bind(validator);
    validator.validateFieldInstance = function (instance, value) {
      return original(instance, value).map(function (text) { return message(text, validation); });
    };
  }

  function localiseFlatpickr() {
    var fp = window.flatpickr;  // form-js's bundled flatpickr registers itself here
    if (!fp || typeof fp.localize !== 'function') { return; }
    fp.localize(FLATPICKR_ZH);
    fp.setDefaults({ ariaDateFormat: 'Y年n月j日' });
  }

  function watermark(node) {
    var element = node.nodeType === 1 ? node : node.parentElement;
    return !!(element && element.closest('.fjs-powered-by, .fjs-powered-by-lightbox'));
  }

  function translateAttribute(element, name) {
    var value = element.getAttribute(name);
    var zh = value === null ? null : translate(value);
    if (zh !== null && zh !== value) { element.setAttribute(name, zh); }
  }

  function translateTree(root) {
    if (watermark(root)) { return; }
    if (root.nodeType === 3) {
      var zh = translate(root.data);
      if (zh !== null && zh !== root.data) { root.data = zh; }
      return;
    }
    if (root.nodeType !== 1) { return; }
    ATTRIBUTES.forEach(function (name) { translateAttribute(root, name); });
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === 1 && node.matches('.fjs-powered-by')) { continue; }
      if (watermark(node)) { continue; }
      if (node.nodeType === 3) {
        var text = translate(node.data);
        if (text !== null && text !== node.data) { node.data = text; }
      } else {
        for (var i = 0; i < ATTRIBUTES.length; i++) { translateAttribute(node, ATTRIBUTES[i]); }
      }
    }
  }

  function observe(container) {
    translateTree(container);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        if (record.type === 'attributes') {
          if (!watermark(record.target)) {
            translateAttribute(record.target, record.attributeName);
          }
        } else if (record.type === 'characterData') {
          translateTree(record.target);
        } else {
          Array.prototype.forEach.call(record.addedNodes, translateTree);
        }
      });
    }).observe(container, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ATTRIBUTES
    });
  }

  window.PlanflowFormLocale = {
    translate: translate,
    apply: function (form, container, options) {
      var opts = options || {};
      if (opts.lang === 'en') { return; }
      localiseFlatpickr();
      localiseValidator(form, opts.validation);
      observe(container);
    }
  };
}());
