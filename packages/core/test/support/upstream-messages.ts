import { fc } from "../../../../test/support/property.js";
import { UPSTREAM_TEMPLATE_IDS } from "../../src/smartrest/upstream.js";

/** Field names the upstream templates use: messages built from them are often valid, often not. */
const FIELD_NAMES = [
  "name",
  "type",
  "text",
  "time",
  "fragment",
  "series",
  "value",
  "unit",
  "status",
  "severity",
  "operations",
  "software",
  "fragments",
  "parameters",
  "temperature",
  "rssi",
] as const;

/**
 * Upstream messages of any template id (and an unknown one, `999`), with properties drawn from
 * the templates' field names plus `extraKeys`, each holding a `value`.
 */
export const upstreamMessages = (
  value: fc.Arbitrary<unknown>,
  extraKeys: readonly string[],
  constraints: fc.DictionaryConstraints = {},
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(
      fc.constantFrom(...UPSTREAM_TEMPLATE_IDS, "999"),
      fc.dictionary(fc.constantFrom(...FIELD_NAMES, ...extraKeys), value, constraints),
    )
    .map(([template, props]) => ({ ...props, template }));
