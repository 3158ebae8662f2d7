"""Server-side validation of data submitted through bpmn.io form-js forms (``*.form`` files).

The browser renders a form with form-js and validates as the user types, but the server never
trusts the browser: :func:`validate_submission` re-checks every submitted value against the form
schema and returns the cleaned data (only what the form declares, coerced to its types) together
with the errors, keyed by data path (``title``, ``address.street``, ``guests[1].name``).

The rules follow form-js 1.x (``packages/form-js-viewer/src/core/Validator.js`` and the field
components), so that the server accepts what the browser accepted:

* ``validate.required``: ``None``, ``""`` and ``[]`` are missing; a required checkbox must be
  ticked. Whitespace-only text counts as given (as in form-js).
* ``validate.pattern`` is tested like JavaScript's ``new RegExp(pattern).test(value)``: a
  *search*, not a full match. Authors who mean the whole value write ``^...$``. Patterns are
  compiled with ``re.ASCII`` so that ``\\d``/``\\w`` mean ASCII as in JavaScript; a pattern Python
  cannot compile (e.g. ``(?<name>...)``) is rejected by :func:`load_form`.
* ``minLength``/``maxLength`` count the trimmed value in UTF-16 code units (JavaScript
  ``value.trim().length``). ``min``/``max``/``minLength``/``maxLength`` may be FEEL expressions
  (``=budget``); those the small evaluator below cannot resolve to a number are skipped.
* ``validationType`` ``email`` uses the WHATWG "valid e-mail address" pattern (as form-js);
  ``phone`` requires international form (``+86...`` or ``0086...``), a superset of what form-js
  accepts. As in form-js, a domestic number without the country code is rejected.
* number fields: numbers or numeric strings, ``decimalDigits`` and ``increment`` as in form-js.
* select/radio/checklist/taglist: values must be among the options. Static ``values`` are
  always checked; ``valuesKey`` options are checked against ``current[valuesKey]`` when the
  caller's current data holds that list, otherwise (and for ``valuesExpression``) not checked.
* ``readonly``/``disabled`` fields ignore the submitted value and keep the current one.
* ``conditional.hide``: a hidden field is neither validated nor kept. form-js evaluates it as a
  FEEL unary test; a tiny evaluator here understands paths (``a``, ``a.b``, ``this.x``,
  ``parent.x``), string/number/boolean/null literals, ``= != < <= > >=``, ``and``, ``or``,
  ``not(...)`` and parentheses. Anything else counts as "visible". As in form-js's FEEL engine a
  condition evaluating to null hides the field (``=amount > 10`` while ``amount`` is empty).

``engine`` never imports Flask; this package needs only the standard library.

The package is split by concern: ``schema`` (the loaded types and component vocabulary),
``loader`` (``load_form`` and its deploy-time checks), ``validate`` and ``rules`` (submission
validation), ``feel`` (the FEEL subset), ``field_errors`` (errors and their messages),
``values`` (shared helpers on JSON values) and ``people`` (person fields: pickers filled in from
the people directory, and the rule that only an allowed active user may be chosen).
"""

from __future__ import annotations

from engine.forms.field_errors import FIELD_ERROR_CODES, FieldError
from engine.forms.loader import load_form
from engine.forms.people import Person, has_person_fields, person_groups, with_people
from engine.forms.schema import FormField, FormSchema, FormSchemaError, defaults, field_keys
from engine.forms.validate import validate_submission

__all__ = [
    "FIELD_ERROR_CODES",
    "FieldError",
    "FormField",
    "FormSchema",
    "FormSchemaError",
    "Person",
    "defaults",
    "field_keys",
    "has_person_fields",
    "load_form",
    "person_groups",
    "validate_submission",
    "with_people",
]
