/**
 * Shared vocabulary of the SmartREST 2.0 layer: rows, template metadata and the
 * classified error values every codec returns instead of throwing.
 */

/** One CSV record: the template id (message id) first, then its fields, as raw strings. */
export type Row = readonly string[];

/** Direction of a template, as seen from the device. */
export type TemplateDirection = "upstream" | "downstream" | "control";

/**
 * Metadata of one template in the catalogue. `fields` lists the ordered field names;
 * a repeating group is written with a trailing `*`, e.g. `(name, version, url)*`.
 * `docs/protocol-coverage.md` is checked against these entries by a test.
 */
export interface TemplateSpec {
  readonly id: string;
  readonly direction: TemplateDirection;
  /** Short name used in docs and errors, e.g. `measurement`, `c8y_Restart`. */
  readonly name: string;
  readonly fields: readonly string[];
  /** Topic family the line travels on, e.g. `s/us`, `s/ds`, `s/e`. */
  readonly topic: string;
}

/** A builder refused its input: which template, which field, and why. */
export interface TemplateError {
  readonly kind: "template-invalid";
  readonly templateId: string;
  readonly field: string;
  readonly reason: string;
}

export const templateError = (templateId: string, field: string, reason: string): TemplateError => ({
  kind: "template-invalid",
  templateId,
  field,
  reason,
});

/** One line naming the template, the field and what is wrong with it. */
export const templateErrorText = (e: TemplateError): string =>
  `template ${e.templateId}: ${e.field}: ${e.reason}`;
