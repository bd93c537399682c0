/** The whole SmartREST catalogue: every template c8ylink builds or decodes, in one list. */
import type { TemplateSpec } from "./types.js";
import { UPSTREAM_SPECS } from "./upstream.js";
import { DOWNSTREAM_SPECS } from "./downstream.js";
import { CONTROL_SPECS } from "./control.js";

export const CATALOGUE: readonly TemplateSpec[] = [...UPSTREAM_SPECS, ...DOWNSTREAM_SPECS, ...CONTROL_SPECS];
