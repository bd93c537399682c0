/**
 * Response templates (line 11, spec §6.3) applied to a JSON subject: an operation (then the
 * target's external id follows the message id) or the result of a request template.
 *
 * A template fires when its condition path exists in the subject; without a condition, when at
 * least one of its patterns resolves (so condition-less templates do not answer every unrelated
 * operation with empty lines). The condition is absolute; patterns are relative to `base`. A
 * pattern that resolves to nothing yields one empty field; `[*]` spreads an array into fields.
 */
import type { Row } from "@c8ylink/core";
import { type Json, jsonText, selectPath } from "./json.js";
import type { ResponseTemplate } from "./model.js";

export const responseRows = (
  templates: readonly ResponseTemplate[],
  subject: Json,
  targetExternalId?: string,
): Row[] =>
  templates.flatMap((template) => {
    if (template.condition !== "" && selectPath(subject, template.condition).length === 0) return [];
    const bases = template.base === "" ? [subject] : selectPath(subject, template.base);
    const selections = template.patterns.map((pattern) => bases.flatMap((b) => selectPath(b, pattern)));
    if (template.condition === "" && selections.every((values) => values.length === 0)) return [];
    const fields = selections.flatMap((values) => (values.length === 0 ? [""] : values.map(jsonText)));
    const target = targetExternalId === undefined ? [] : [targetExternalId];
    return [[template.msgId, ...target, ...fields]];
  });
