// Alarms, events and `s/e` errors of one device, newest first.
import { clock, h } from "./dom.js";

const SHOWN_EVENTS = 100;
const SHOWN_ERRORS = 50;

/** Alarm items; `change(alarm, "acknowledge" | "clear")` is called by their buttons. */
export const alarmItems = (alarms, change) =>
  alarms.length === 0
    ? [h("li.muted", {}, "No alarms.")]
    : [...alarms]
        .reverse()
        .map((a) =>
          h(
            "li.item",
            { "data-alarm-id": a.id, "data-status": a.status },
            h(
              "div.item-head",
              {},
              h("span.badge", { "data-severity": a.severity }, a.severity),
              h("span.badge", { "data-alarm-status": a.status }, a.status),
              h("strong", {}, a.type),
              a.count > 1 ? h("span.count", { title: "times raised" }, `×${a.count}`) : null,
            ),
            h("p", {}, a.text),
            h("p.muted", {}, `${clock(a.time)} · first ${clock(a.firstOccurrenceTime)} · ${a.mode}`),
            a.status === "CLEARED"
              ? null
              : h(
                  "div.actions",
                  {},
                  a.status === "ACTIVE"
                    ? h("button", { type: "button", onclick: () => change(a, "acknowledge") }, "Acknowledge")
                    : null,
                  h("button", { type: "button", onclick: () => change(a, "clear") }, "Clear"),
                ),
          ),
        );

export const eventItems = (events) =>
  events.length === 0
    ? [h("li.muted", {}, "No events.")]
    : events
        .slice(-SHOWN_EVENTS)
        .reverse()
        .map((e) =>
          h(
            "li.item",
            { "data-event-id": e.id },
            h(
              "div.item-head",
              {},
              h("strong", {}, e.type),
              h("span.muted", {}, ` ${clock(e.time)} · ${e.mode}`),
            ),
            h("p", {}, e.text),
          ),
        );

export const errorItems = (errors) =>
  errors.length === 0
    ? [h("li.muted", {}, "None.")]
    : errors
        .slice(-SHOWN_ERRORS)
        .reverse()
        .map((e) =>
          h(
            "li.item",
            {},
            h("code", {}, e.line),
            h("span.muted", {}, ` ${clock(e.atMs)}${e.delivered ? "" : " (not delivered: not subscribed)"}`),
          ),
        );
