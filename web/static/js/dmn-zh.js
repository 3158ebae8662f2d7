/* dmn-js in Chinese: a `translate` module (each dmn-js view is a diagram-js style injector, and a
   module can replace its `translate` service) for the decision-table editor. dmn-js 17 sends
   through it the texts of all its views: the decision table (命中策略 and its explanations, the
   当/则 headers, column types, the context menu, the cell and column editors), the 决策需求图
   (DRD: palette, context pad, 更改类型 menu, the definitions' name and ID) and the literal
   expression. Texts not listed stay as dmn-js wrote them (English), so a newer dmn-js never
   shows an empty label.

   Used as: new DmnJS({ drd: {additionalModules: [window.pfDmnTranslate]}, decisionTable: ...,
   literalExpression: ..., boxedExpression: ... }) — per view, because dmn-js 17 drops
   `common.additionalModules` (bpmn-io/dmn-js#694). The language is the page's (<html lang>):
   zh-CN pages get Chinese, English pages dmn-js's own texts.

   A few texts are written straight into the DOM by dmn-js, not through `translate` (see
   HARDCODED below): on Chinese pages they are replaced in place, by exact text only. */
(function () {
  'use strict';
  var ZH = {
    // decision table: header
    'Hit policy': '命中策略',
    'Hit policy:': '命中策略：',
    'View DRD': '查看决策需求图',
    'Decision name': '决策名称',
    'Decision name: ': '决策名称：',
    // hit policies (labels, then the explanation shown as their tooltip)
    'Unique': '唯一',
    'First': '首个',
    'Priority': '优先级',
    'Any': '任意', // also the data type "Any": dmn-js asks for both with the same text
    'Collect': '汇总',
    'Collect (Sum)': '汇总（求和）',
    'Collect (Min)': '汇总（最小值）',
    'Collect (Max)': '汇总（最大值）',
    'Collect (Count)': '汇总（计数）',
    'Rule order': '规则顺序',
    'Output order': '输出顺序',
    'No overlap is possible and all rules are disjoint. Only a single rule can be matched':
      '规则之间不能重叠、互不相交，只能命中一条规则',
    'Rules may overlap. The first matching rule will be chosen':
      '规则可以重叠，取第一条命中的规则',
    'Rules may overlap. The one with the highest priority will be chosen':
      '规则可以重叠，取优先级最高的一条规则',
    'Rules may overlap. Their output have to match': '规则可以重叠，但命中规则的输出必须一致',
    'Collects the values of all matching rules': '汇总所有命中规则的输出值',
    'Collects the values of all matching rules and sums up to a single value':
      '汇总所有命中规则的输出值并求和',
    'Collects the values of all matching rules and uses the lowest value':
      '汇总所有命中规则的输出值，取最小值',
    'Collects the values of all matching rules and uses the highest value':
      '汇总所有命中规则的输出值，取最大值',
    'Collects the values of all matching rules and counts the number of them':
      '统计命中规则的数量',
    'Collects the values of all matching rules in rule order':
      '按规则顺序汇总所有命中规则的输出值',
    'Collects the values of all matching rules in decreasing output priority order':
      '按输出优先级从高到低汇总所有命中规则的输出值',
    // decision table: column headers ("And" heads the 2nd, 3rd… input or output column)
    'When': '当',
    'Then': '则',
    'And': '且',
    'Annotations': '注释',
    'Annotation': '注释',
    'Input': '输入',
    'Output': '输出',
    'Input values': '输入值',
    'Output values': '输出值',
    'Resize': '调整列宽',
    'Add input': '添加输入',
    'Add output': '添加输出',
    'Add rule': '添加规则',
    // data types (column type, literal-expression variable type)
    'string': '字符串',
    'boolean': '布尔',
    'number': '数字',
    'date': '日期',
    'time': '时间',
    'dateTime': '日期时间',
    'dayTimeDuration': '时长（日、时）',
    'yearMonthDuration': '时长（年、月）',
    // decision table: context menu (right click on a cell)
    'Add rule above': '在上方添加规则',
    'Add rule below': '在下方添加规则',
    'Remove rule': '删除规则',
    'Copy rule': '复制规则',
    'Cut rule': '剪切规则',
    'Paste rule above': '粘贴规则到上方',
    'Paste rule below': '粘贴规则到下方',
    'Move rule': '移动规则',
    'Add input column left': '在左侧添加输入列',
    'Add input column right': '在右侧添加输入列',
    'Remove input column': '删除输入列',
    'Copy input column': '复制输入列',
    'Cut input column': '剪切输入列',
    'Paste input column left': '粘贴输入列到左侧',
    'Paste input column right': '粘贴输入列到右侧',
    'Add output column left': '在左侧添加输出列',
    'Add output column right': '在右侧添加输出列',
    'Remove output column': '删除输出列',
    'Copy output column': '复制输出列',
    'Cut output column': '剪切输出列',
    'Paste output column left': '粘贴输出列到左侧',
    'Paste output column right': '粘贴输出列到右侧',
    'Add cell description': '添加单元格说明',
    'Remove cell description': '移除单元格说明',
    'Change cell expression language': '更改单元格表达式语言',
    'Expression language': '表达式语言',
    'Expression language:': '表达式语言：',
    'Expression language: {expressionLanguageLabel}': '表达式语言：{expressionLanguageLabel}',
    'Editing not supported for set expression language': '当前表达式语言不支持在此编辑',
    // decision table: the input / output column editor
    'Edit input': '编辑输入',
    'Edit output': '编辑输出',
    'Input label': '输入标签',
    'Input label: ': '输入标签：',
    'Input expression': '输入表达式',
    'Input expression: ': '输入表达式：',
    'Expression': '表达式',
    'Enter expression': '输入表达式',
    'Input type': '输入类型',
    'Output label': '输出标签',
    'Output label: ': '输出标签：',
    'Output name': '输出名称',
    'Output name: ': '输出名称：',
    'Output type': '输出类型',
    'Type': '类型',
    'Predefined values': '预定义值',
    'Add predefined values': '添加预定义值',
    'Clear predefined values': '清除预定义值',
    'Add values': '添加值',
    'Values': '值列表',
    'No values': '无值',
    '"value"': '"取值"',
    '"value", "value", ...': '"取值", "取值", ...',
    'Strings must be in double quotes': '字符串必须用英文双引号括起来',
    // decision table: the cell editors of each type
    'Edit': '编辑',
    'Edit string': '编辑字符串',
    'Match one': '匹配其一',
    'Match none': '均不匹配',
    'Custom values': '自定义值',
    'String value': '字符串值',
    'Edit boolean': '编辑布尔值',
    'Boolean value': '布尔值',
    'Yes': '是',
    'No': '否',
    'Edit number': '编辑数字',
    'Test type': '判断方式',
    'Comparison': '比较',
    'Comparison operator': '比较运算符',
    'Range': '范围',
    'Equals': '等于',
    'Less': '小于',
    'Less or equals': '小于或等于',
    'Greater': '大于',
    'Greater or equals': '大于或等于',
    'Value': '值',
    'Set value': '设置值',
    'Start value': '开始值',
    'End value': '结束值',
    'Range start operator': '范围开始运算符',
    'Range start value': '范围开始值',
    'Range end operator': '范围结束运算符',
    'Range end value': '范围结束值',
    'Include': '包含',
    'Exclude': '不包含',
    'Exactly': '等于',
    'Before': '早于',
    'After': '晚于',
    'Between': '介于',
    'Date': '日期',
    'Time': '时间',
    'Date and time': '日期时间',
    'Edit date': '编辑日期',
    'Edit start date': '编辑开始日期',
    'Edit end date': '编辑结束日期',
    'Edit time': '编辑时间',
    'Edit start time': '编辑开始时间',
    'Edit end time': '编辑结束时间',
    'Edit date and time': '编辑日期时间',
    'Edit start date and time': '编辑开始日期时间',
    'Edit end date and time': '编辑结束日期时间',
    'Edit duration': '编辑时长',
    'Set date': '设置日期',
    'Set time': '设置时间',
    'Set date and time': '设置日期时间',
    'Set duration': '设置时长',
    'Date value': '日期值',
    'Time value': '时间值',
    'Date and time value': '日期时间值',
    'Duration value': '时长值',
    'Start date': '开始日期',
    'End date': '结束日期',
    'Start time': '开始时间',
    'End time': '结束时间',
    'Start date and time': '开始日期时间',
    'End date and time': '结束日期时间',
    'Use today': '使用今天',
    'Use now': '使用当前时间',
    'e.g. { sample }': '例如 {sample}',
    // dmn-js passes a date here for time fields too (and never fills it in English): no example
    'e.g. { example } ': '请输入',
    'Date must match pattern yyyy-MM-dd': '日期格式必须为 yyyy-MM-dd',
    'Time must match pattern hh:mm:ss[time zone]': '时间格式必须为 hh:mm:ss[时区]',
    'Date and time must match pattern yyyy-MM-ddTHH:mm:ss[time zone]':
      '日期时间格式必须为 yyyy-MM-ddTHH:mm:ss[时区]',
    'Must match PnYnM': '格式必须为 PnYnM（如 P1Y2M）',
    'Must match PnDTnH': '格式必须为 PnDTnH（如 P1DT2H）',
    // literal expression and boxed expression (business knowledge model) views
    'Literal expression': '字面表达式',
    'Literal Expression': '字面表达式',
    'Literal expression editor': '字面表达式编辑器',
    'Variable name': '变量名',
    'Variable name:': '变量名：',
    'Variable type': '变量类型',
    'Variable type:': '变量类型：',
    'name': '名称',
    'Element name': '元素名称',
    'Edit function kind': '编辑函数类型',
    'Function kind: {kind}': '函数类型：{kind}',
    'Kind': '类型',
    'Edit formal parameters': '编辑形式参数',
    'Add parameter': '添加参数',
    'Remove parameter': '删除参数',
    // DRD: palette, context pad, 更改类型 menu, drill-down buttons, search
    'Activate hand tool': '抓手工具：拖动画布',
    'Activate lasso tool': '套索工具：框选多个元素',
    'Create decision': '决策',
    'Create input data': '输入数据',
    'Create knowledge model': '业务知识模型',
    'Create knowledge source': '知识来源',
    'Append decision': '追加决策',
    'Append input data': '追加输入数据',
    'Append knowledge source': '追加知识来源',
    'Append business knowledge model': '追加业务知识模型',
    'Add text annotation': '添加文字注释',
    'Connect to other element': '连线到其他元素',
    'Change type': '更改类型',
    'Delete': '删除',
    'Empty': '空',
    'Decision table': '决策表',
    'Open decision table': '打开决策表',
    'Open literal expression': '打开字面表达式',
    'Search in diagram': '在图中搜索',
    // DRD: the definitions' name and ID (top left) and what is wrong with an ID typed there
    'Definition name': '定义名称',
    'Definition ID': '定义 ID',
    'Element must have ID.': '元素必须有 ID。',
    'Element must have unique ID.': '元素 ID 必须唯一。',
    'Id must not contain spaces.': 'ID 不能包含空格。',
    'Id must not contain prefix.': 'ID 不能包含前缀。',
    'Id must be a valid QName.': 'ID 必须是合法的 QName。'
  };

  // Written into the DOM by dmn-js without `translate`: [selector, {English: Chinese}] for an
  // element's own text, or [selector, {...}, attribute] for an attribute.
  var HARDCODED = [
    ['.dms-list-component .remove', { 'Remove item': '移除' }, 'title'],
    ['.comparison > h4.dms-heading', { 'Value': '值' }],
    ['.formal-parameters th', { 'Name': '名称', 'Type': '类型' }],
    ['.element-variable h2', { 'Result': '结果' }],
    ['.element-variable-type-label', { 'Result type': '结果类型' }]
  ];

  var chinese = /^zh/i.test(document.documentElement.lang || 'zh-CN');

  function translate(template, replacements) {
    // dmn-js also asks for '' (a column without a type): give it back as it came.
    if (typeof template !== 'string') return template;
    var text = (chinese && ZH[template]) || template;
    replacements = replacements || {};
    return text.replace(/{([^}]+)}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : whole;
    });
  }

  function fixHardcoded() {
    HARDCODED.forEach(function (rule) {
      document.querySelectorAll(rule[0]).forEach(function (el) {
        if (rule[2]) {
          var zh = rule[1][el.getAttribute(rule[2])];
          if (zh) el.setAttribute(rule[2], zh);
          return;
        }
        // Only a lone text node, changed in place: Inferno keeps its reference to that node.
        var node = el.firstChild;
        if (node && node === el.lastChild && node.nodeType === 3 && rule[1][node.nodeValue]) {
          node.nodeValue = rule[1][node.nodeValue];
        }
      });
    });
  }

  if (chinese && window.MutationObserver) {
    // Context menus and views come and go: look again after every change of the page's tree.
    new MutationObserver(fixHardcoded).observe(document.body || document.documentElement, {
      childList: true,
      subtree: true
    });
  }

  window.pfDmnZh = ZH;
  window.pfDmnTranslate = { translate: ['value', translate] };
})();
