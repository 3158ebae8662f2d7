/* planflow — the form designer (form-js editor, manage_form_editor.html) in Chinese (zh-CN).
 *
 * form-js 1.23 has no translation hook: its palette, properties panel and canvas placeholders
 * write their English texts directly (a `translate` service arrived upstream only later,
 * bpmn-io/form-js#1549). So, like form-js-zh.js does for the viewer, this module replaces
 * form-js's own texts where they are rendered: a MutationObserver on the editor's container
 * swaps them before the browser paints them.
 *
 * It must never change what the process owner typed (field labels, keys, option labels, the
 * texts of the form shown on the canvas), so:
 *   - a text or attribute is translated only when its whole (trimmed) value is one of
 *     form-js's own strings below, or matches one of the precise PATTERNS;
 *   - palette and properties panel: everything there is form-js's except the SKIP parts
 *     (the selected field's label in the header, list entry titles, code editors, inputs);
 *   - canvas: only form-js's placeholders (CANVAS_PARTS) — the form itself is user content;
 *   - input values and contenteditable text are never touched; the bpmn.io watermark neither.
 * Nothing happens on English pages (<html lang="en">).
 *
 *   PlanflowFormEditorLocale.observe(container)   — started on DOMContentLoaded for #pf-editor
 */
(function () {
  'use strict';

  // Component names (palette entries, the properties panel's header, "Create a … element").
  var TYPES = {
    'Text field': '文本框',
    'Text area': '多行文本',
    'Number': '数字',
    'Date time': '日期时间',
    'Expression': '表达式',
    'File picker': '文件上传',
    'Checkbox': '复选框',
    'Checkbox group': '复选框组',
    'Radio group': '单选按钮',
    'Select': '下拉选择',
    'Tag list': '标签选择',
    'Text view': '文本',
    'Image view': '图片',
    'Table': '表格',
    'HTML view': 'HTML 视图',
    'Document preview': '文档预览',
    'Spacer': '间距',
    'Separator': '分隔线',
    'Group': '分组',
    'Dynamic list': '动态列表',
    'iFrame': '内嵌网页',
    'Button': '按钮',
    'Form': '表单'
  };

  // The palette's and the properties panel's own texts: headings, group and entry labels,
  // options of its selects, descriptions, tooltips, validation messages, button titles.
  var WORDS = {
    // palette
    'Components': '组件',
    'Search components': '搜索组件',
    'Clear content': '清空',
    'No components found.': '没有找到组件。',
    'Input': '输入',
    'Selection': '选择',
    'Presentation': '展示',
    'Containers': '容器',
    'Action': '操作',
    // properties panel: empty states
    'Select a form field to edit its properties.': '选择一个表单字段以编辑其属性。',
    'Multiple form fields are selected. Select a single form field to edit its properties.':
      '已选择多个表单字段。请只选择一个字段来编辑其属性。',
    // groups
    'General': '常规',
    'Condition': '条件',
    'Validation': '校验',
    'Layout': '布局',
    'Appearance': '外观',
    'Serialization': '序列化',
    'Constraints': '约束',
    'Static options': '静态选项',
    'Options source': '选项来源',
    'Custom properties': '自定义属性',
    'Header items': '表头列',
    'Security attributes': '安全属性',
    'Time': '时间',
    'Date': '日期',
    // entries
    'ID': '编号',
    'Key': '字段键',
    'Path': '路径',
    'Label': '标签',
    'Value': '值',
    'Type': '类型',
    'Text': '文本',
    'Title': '标题',
    'Content': '内容',
    'Name': '名称',
    'Column': '列',
    'Columns': '列宽',
    'Height': '高度',
    'URL': '网址',
    'Field label': '字段标签',
    'Field description': '字段描述',
    'Description': '描述',
    'Group label': '分组标签',
    'Table label': '表格标签',
    'Date label': '日期标签',
    'Time label': '时间标签',
    'Default value': '默认值',
    'Required': '必填',
    'Read only': '只读',
    'Disabled': '禁用',
    'Minimum length': '最小长度',
    'Maximum length': '最大长度',
    'Minimum': '最小值',
    'Maximum': '最大值',
    'Validation pattern': '校验规则',
    'Custom regular expression': '自定义正则表达式',
    'Custom error message': '自定义错误提示',
    'Decimal digits': '小数位数',
    'Increment': '步长',
    'Prefix': '前缀',
    'Suffix': '后缀',
    'Subtype': '子类型',
    'Use 24h': '24 小时制',
    'Time interval': '时间间隔',
    'Time format': '时间格式',
    'Disallow past dates': '禁止选择过去的日期',
    'Output as string': '以字符串输出',
    'Searchable': '可搜索',
    'Hide if': '隐藏条件',
    'Deactivate if': '禁用条件',
    'Target value': '目标变量',
    'Compute on': '计算时机',
    'Upload multiple files': '允许上传多个文件',
    'Supported file formats': '支持的文件格式',
    'Alternative text': '替代文本',
    'Image source': '图片来源',
    'Data source': '数据来源',
    'Headers source': '表头来源',
    'Pagination': '分页',
    'Number of rows per page': '每页行数',
    'Allow add/delete items': '允许增删项',
    'Default number of items': '默认项数',
    'Disable collapse': '禁止折叠',
    'Number of non-collapsing items': '不折叠的项数',
    'Show outline': '显示边框',
    'Vertical alignment': '垂直对齐',
    'Version tag': '版本标签',
    'Options expression': '选项表达式',
    'Input values key': '输入数据键',
    'Document reference': '文档引用',
    'Max height of preview container': '预览区最大高度',
    'Script execution': '执行脚本',
    'Allow same origin': '允许同源',
    'Open in fullscreen': '全屏显示',
    'Geolocation': '地理位置',
    'Camera access': '摄像头',
    'Microphone access': '麦克风',
    'Forms submission': '提交表单',
    'Open modal windows': '打开模态窗口',
    'Open popups': '打开弹出窗口',
    'Top level navigation': '跳转顶层页面',
    'Storage access by user': '访问存储',
    'Repeatable': '可重复',
    'Create': '新建',
    'Learn more': '了解更多',
    // options of the panel's selects
    '<none>': '（无）',
    '<empty>': '（空）',
    'Auto': '自动',
    'Top': '顶部',
    'Center': '居中',
    'Bottom': '底部',
    'Checked': '已勾选',
    'Not checked': '未勾选',
    'Submit': '提交',
    'Reset': '重置',
    'Custom': '自定义',
    'Email': '电子邮箱',
    'Phone': '电话号码',
    'Value changes': '值变化时',
    'Form submission': '提交表单时',
    'Static': '静态',
    'List of items': '选项列表',
    'Input data': '输入数据',
    'Date & Time': '日期和时间',
    'UTC offset': '带时区偏移',
    'UTC normalized': '统一为 UTC 时间',
    'No timezone': '不含时区',
    // descriptions
    'Binds to a form variable': '绑定到表单变量',
    'Allows arbitrary precision values': '允许任意精度的数值',
    'Condition under which the field is hidden': '满足此条件时隐藏字段',
    'Condition under which the field is deactivated': '满足此条件时禁用字段',
    'Define an expression to calculate the value of this field': '用表达式计算此字段的值',
    'Define an expression to populate the options from.': '用表达式生成选项。',
    'Define which input property to populate the values from': '指定从哪个输入数据读取选项',
    'Expression or static value (link/data URI)': '表达式或固定值（链接或 data URI）',
    'Height of the container in pixels.': '容器高度（像素）。',
    'Specify an expression to populate column items': '用表达式生成表格的列',
    'Specify the source from which to populate the table': '指定表格数据的来源',
    'Where the child variables of this component are pathed to.': '此组件内字段的数据存放路径。',
    'Supports markdown and templating.': '支持 Markdown 和模板。',
    'Supports HTML, styling, and templating. Styles are automatically scoped to the HTML component.':
      '支持 HTML、样式和模板，样式只作用于此组件。',
    'A comma-separated list of': '以逗号分隔的',
    'file type specifiers': '文件类型（如 .pdf,image/*）',
    'These options can incur security risks, especially if used in combination with dynamic links. Ensure that you are aware of them, that you trust the source url and only enable what your use case requires.':
      '这些选项可能带来安全风险，与动态链接一起使用时尤甚。请确认了解其影响、信任该网址，并只开启确实需要的选项。',
    'Version tag by which this form can be referenced.': '引用此表单时使用的版本标签。',
    'Documents whose height exceeds the defined value in pixels will be vertically scrollable':
      '文档高度超过此值（像素）时可纵向滚动',
    // tooltips
    'Use a unique "key" to link the form element and the related input/output data. When dealing with nested data, break it down in the user task\'s input mapping before using it.':
      '用唯一的“字段键”把表单元素与流程的输入/输出数据对应起来。嵌套数据请先在用户任务的输入映射中拆开再使用。',
    'Descriptive text for screen reader accessibility.': '供读屏软件朗读的说明文字。',
    'Disable this field when it should not be interactive for end-users. Its data will not be submitted. This setting takes precedence over read-only.':
      '字段不需要填写人操作时禁用它，其数据不会提交。此设置优先于“只读”。',
    'Make this field read-only when it cannot be edited by the end-user, but its content is important for them to see. Its data will still be submitted.':
      '字段内容需要让填写人看到但不能修改时设为只读，其数据仍会提交。',
    'Link referring to a hosted image, or use a data URI directly to embed image data into the form.':
      '图片的链接，或直接用 data URI 把图片嵌入表单。',
    'Enter a form input variable that contains the data for the table or define an expression to populate the data dynamically.':
      '填写包含表格数据的表单输入变量，或用表达式动态生成数据。',
    'The error message to display when the input does not match the regular expression.':
      '输入不符合正则表达式时显示的错误提示。',
    'Add properties directly to the form schema, useful to configure functionality in custom-built task applications and form renderers.':
      '直接写入表单定义的属性，供自建的任务应用和表单渲染器使用。',
    'Routes the children of this component into a form variable, may be left empty to route at the root level.':
      '把此组件内字段的数据放进一个表单变量；留空则放在最外层。',
    'Routes the children of this component into a form variable.': '把此组件内字段的数据放进一个表单变量。',
    'The built-in phone validation pattern is based on the E.164 standard with no spaces. Ex: +491234567890':
      '内置的电话号码校验遵循 E.164 标准，不含空格，例如 +8613912345678',
    '"Static" defines a constant, predefined set of form options.\n\n"Input data" defines options that are populated dynamically, adjusting based on variable data for flexible responses to different conditions or inputs.\n\n"Expression" defines options that are populated from a FEEL expression.':
      '“静态”：固定的、预先设定的选项。\n\n“输入数据”：选项从流程变量动态读取，随数据变化。\n\n“表达式”：选项由 FEEL 表达式生成。',
    '"List of items" defines a constant, predefined set of form options.\n\n"Expression" defines options that are populated from a FEEL expression.':
      '“选项列表”：固定的、预先设定的选项。\n\n“表达式”：选项由 FEEL 表达式生成。',
    'Enter a HTTPS URL to a source or populate it dynamically via a template or an expression (e.g., to pass a value from the variable).':
      '填写 HTTPS 网址，或用模板或表达式动态生成（例如取自变量的值）。',
    'Please make sure that the URL is safe as it might impose security risks.': '请确认网址安全可信，否则可能带来安全风险。',
    'Not all external sources can be displayed in the iFrame. Read more about it in the':
      '并非所有外部网页都能嵌入显示，详见',
    'X-FRAME-OPTIONS documentation': 'X-Frame-Options 说明',
    'Allow the iframe to access more functionality of your browser, details regarding the various options can be found in the':
      '允许内嵌网页使用更多浏览器功能，各选项的说明见',
    'MDN iFrame documentation.': 'MDN 的 iframe 文档。',
    'A source is a JSON object containing metadata for a document or an array of documents.':
      '数据来源是一个 JSON 对象（或其数组），包含文档的元数据。',
    'Additional details are optional. The expected format is as follows:': '其他信息可选，格式如下：',
    'Each entry must include a document ID, name, and MIME type.': '每一项都必须包含文档 ID、名称和 MIME 类型。',
    'When using Camunda Tasklist UI, additional document reference attributes are automatically handled. Modifying the document reference may affect the document preview functionality.':
      '使用 Camunda Tasklist 时会自动处理文档引用的其他属性；修改文档引用可能影响文档预览。',
    'Learn more in our': '详见',
    'documentation': '文档',
    // validation messages of the panel's inputs
    'A number is required.': '请填写数字。',
    'Value must be a number.': '必须是数字。',
    'Should be a valid number.': '应为有效的数字。',
    'Should be an integer.': '应为整数。',
    'Should be greater than zero.': '应大于 0。',
    'Should be greater than or equal to zero.': '应大于或等于 0。',
    'Must not be empty.': '不能为空。',
    'Must be unique.': '不能重复。',
    'Must not contain spaces.': '不能包含空格。',
    'Must be a variable or a dot separated path.': '必须是变量名或以点分隔的路径。',
    'Must not conflict with other key/path assignments.': '不能与其他字段键或路径冲突。',
    'Must not contain numerical path segments.': '路径中不能有纯数字的部分。',
    'Must not be a prohibited path.': '不能使用此路径。',
    'Unparsable FEEL expression.': '无法解析的 FEEL 表达式。',
    'The document data source is required.': '必须填写文档的数据来源。',
    'Document reference is not defined.': '未设置文档引用。',
    'For security reasons the URL must start with "https".': '出于安全考虑，网址必须以 https 开头。',
    // titles of the panel's buttons and markers
    'Toggle section': '展开/收起',
    'Section contains edits': '此部分有修改',
    'Section contains an error': '此部分有错误',
    'Create new list item': '新增一项',
    'Delete item': '删除此项',
    'Toggle list item': '展开/收起此项',
    'Open pop-up editor': '在弹出窗口中编辑',
    'Opened in popup': '已在弹出窗口中打开',
    'Opened in editor': '已在编辑器中打开',
    'FEEL expression is mandatory': '此处必须填写 FEEL 表达式',
    'Click to set a dynamic value with FEEL expression': '点击改用 FEEL 表达式（动态值）',
    'Click to remove dynamic value with FEEL expression': '点击取消 FEEL 表达式（动态值）'
  };

  // What form-js shows in place of a component's content on the canvas (never the form's texts).
  var CANVAS_WORDS = {
    'Drag and drop components here.': '将组件拖放到此处。',
    'Build your form': '开始设计表单',
    'Drag and drop components here to start designing.': '从左侧把组件拖放到此处开始设计。',
    'Use the preview window to test your form.': '部署后可在任务中查看表单效果。',
    'Text view is empty': '文本内容为空',
    'Html view is empty': 'HTML 内容为空',
    'Expression is empty': '表达式为空',
    'Text view is populated by an expression': '文本由表达式生成',
    'Html view is populated by an expression': 'HTML 由表达式生成',
    'Text view is templated': '文本使用了模板',
    'Html view is templated': 'HTML 使用了模板',
    'Document preview': '文档预览',
    'iFrame': '内嵌网页',
    'No content to show.': '没有可显示的内容。',
    "External content couldn't be loaded.": '无法加载外部内容。',
    'Content': '内容',
    'Nothing to show.': '暂无数据',
    'Select': '请选择',
    'Search': '输入以搜索',
    'Browse': '选择文件',
    'No files selected': '未选择文件',
    'Add new': '添加一行',
    'Collapse': '收起',
    'Repeatable': '可重复',
    'Increment': '增加',
    'Decrement': '减少',
    'hh:mm': '时:分',
    'This is an image placeholder': '图片',
    'Remove form field': '删除表单字段'
  };

  // "添加" + "文本框"; a space before a Latin name ("删除 HTML 视图"), as Chinese typesetting does
  function named(verb, type) {
    var name = TYPES[type];
    if (!name) { return null; }
    return verb + (/^[A-Za-z]/.test(name) ? ' ' : '') + name;
  }

  var PATTERNS = [
    // palette entry titles: "Create a Text field element", "Create an Image view element"
    [/^Create an? (.+) element$/, function (m) { return named('添加', m[1]); }],
    [/^List contains (\d+) items?$/, function (m) { return '共 ' + m[1] + ' 项'; }]
  ];
  var CANVAS_PATTERNS = [
    // the canvas's remove button: "Remove Text field"
    [/^Remove (.+)$/, function (m) { return named('删除', m[1]); }],
    // expression field placeholder: "Expression for 'total'" (the key is kept as is)
    [/^Expression for '(.+)'$/, function (m) { return '表达式：' + m[1]; }],
    [/^Expand all \((\d+)\)$/, function (m) { return '展开全部（' + m[1] + '）'; }],
    [/^(\d+) files selected$/, function (m) { return '已选择 ' + m[1] + ' 个文件'; }]
  ];
  // form-js's date placeholder in the browser's date order: yyyy/mm/dd, mm/dd/yyyy, dd.mm.yyyy
  var DATE_FORMAT = /^(?=.*yyyy)(?=.*mm)(?=.*dd)[ymd/.\-\s]+$/;
  var ATTRIBUTES = ['placeholder', 'aria-label', 'title', 'alt'];

  var PALETTE = '.fjs-palette-container';
  var PANEL = '.fjs-editor-properties-container';
  var CANVAS = '.fjs-form-container';
  // Parts of palette and panel that show what the user typed (the selected field's label,
  // an option's or column's label in a list entry's title) or code (FEEL, HTML, markdown).
  var SKIP = [
    '.bio-properties-panel-header-label',
    '.bio-properties-panel-collapsible-entry-header-title',
    // CodeMirror owns its DOM (and re-syncs its attributes): not even its aria-label is touched
    '.cm-editor', '.cm-tooltip', '[contenteditable]',
    '.fjs-powered-by', '.fjs-powered-by-lightbox'
  ].join(', ');
  // On the canvas only these are form-js's own words; everything else is the user's form.
  var CANVAS_PARTS = [
    '.fjs-empty-component', '.fjs-empty-editor', '.fjs-form-field-placeholder',
    '.fjs-documentPreview-placeholder-text', '.fjs-iframe-placeholder-text',
    '.fjs-iframe-placeholder', '.fjs-table-td', '.fjs-table-empty', '.fjs-select-placeholder',
    '.fjs-filepicker-button', '.fjs-form-field-filepicker span.fjs-form-field-label',
    '.fjs-repeat-render-add', '.fjs-repeat-render-collapse', '.fjs-repeat-render-footer'
  ].join(', ');
  // Canvas attributes that are form-js's: the remove button, the number spinner, the date and
  // select placeholders and the image placeholder (a user's alt text or label never equals these).
  var CANVAS_ATTRIBUTE_PARTS = [
    '.fjs-context-pad-item', '.fjs-number-arrow-container button',
    '.fjs-input[placeholder]', '.fjs-image-placeholder svg'
  ].join(', ');

  function own(dictionary, key) {
    return Object.prototype.hasOwnProperty.call(dictionary, key) ? dictionary[key] : null;
  }

  function lookup(word, canvas) {
    if (canvas) {
      var found = own(CANVAS_WORDS, word);
      if (found !== null) { return found; }
      if (DATE_FORMAT.test(word)) {
        return word.replace('yyyy', '年').replace('mm', '月').replace('dd', '日');
      }
    } else {
      var zh = own(WORDS, word);
      if (zh === null) { zh = own(TYPES, word); }
      if (zh !== null) { return zh; }
    }
    var patterns = canvas ? CANVAS_PATTERNS : PATTERNS;
    for (var i = 0; i < patterns.length; i++) {
      var match = patterns[i][0].exec(word);
      if (match) { return patterns[i][1](match); }
    }
    return null;
  }

  /* The Chinese for one of form-js's own texts (whitespace around it kept), or null. */
  function translate(text, canvas) {
    var word = String(text || '').trim();
    if (!word) { return null; }
    var zh = lookup(word, canvas);
    return zh === null ? null : text.replace(word, zh);
  }

  // form-js's own entries in the default-value select: "<none>" and a checkbox's 已勾选/未勾选;
  // its other options are the field's options, as the user named them.
  var OWN_DEFAULT_OPTIONS = { '': true, 'true': true, 'false': true };

  /* Where an element is: 'chrome' (palette, panel), 'canvas', or null (leave it alone). */
  function zone(element, forAttribute) {
    if (!element || !element.closest) { return null; }
    if (element.closest(SKIP)) { return null; }
    if (!forAttribute && element.closest('textarea, input')) { return null; }
    if (element.tagName === 'OPTION' && element.closest('[data-entry-id$="defaultValue"]') &&
        !OWN_DEFAULT_OPTIONS[element.value]) {
      return null;
    }
    if (element.closest(PALETTE) || element.closest(PANEL)) { return 'chrome'; }
    if (element.closest(CANVAS)) {
      if (forAttribute) { return element.matches(CANVAS_ATTRIBUTE_PARTS) ? 'canvas' : null; }
      return element.closest(CANVAS_PARTS) ? 'canvas' : null;
    }
    return null;
  }

  function translateAttribute(element, name) {
    var where = zone(element, true);
    if (!where) { return; }
    var value = element.getAttribute(name);
    var zh = value === null ? null : translate(value, where === 'canvas');
    if (zh !== null && zh !== value) { element.setAttribute(name, zh); }
  }

  function translateText(node) {
    var parent = node.parentElement;
    // an unnamed list entry's title is form-js's "<empty>", any other title is the user's
    if (parent && node.data.trim() === '<empty>' &&
        parent.closest('.bio-properties-panel-collapsible-entry-header-title')) {
      node.data = node.data.replace('<empty>', WORDS['<empty>']);
      return;
    }
    var where = zone(parent, false);
    if (!where) { return; }
    var zh = translate(node.data, where === 'canvas');
    if (zh !== null && zh !== node.data) { node.data = zh; }
  }

  function translateTree(root) {
    if (root.nodeType === 3) { translateText(root); return; }
    if (root.nodeType !== 1) { return; }
    ATTRIBUTES.forEach(function (name) { translateAttribute(root, name); });
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === 3) {
        translateText(node);
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
          translateAttribute(record.target, record.attributeName);
        } else if (record.type === 'characterData') {
          translateText(record.target);
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

  function chinesePage() {
    return /^zh/i.test(document.documentElement.getAttribute('lang') || '');
  }

  window.PlanflowFormEditorLocale = {
    translate: translate,
    observe: function (container) {
      if (container && chinesePage()) { observe(container); }
    }
  };

  // Started before the editor renders (manage-editor.js runs after this script), so every
  // text form-js writes later goes through the observer.
  function start() {
    window.PlanflowFormEditorLocale.observe(document.getElementById('pf-editor'));
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
