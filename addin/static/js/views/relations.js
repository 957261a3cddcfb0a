// Relationship intelligence on a card: my own tie, the colleagues who know the person best
// (with "ask for an introduction"), the company's coverage, and warm-introduction paths.
// Explanations come from the server as counts and dates, never another colleague's subjects.

import { query } from "../api.js";
import { capital, h, nameOf, when } from "../dom.js";
import { draftIntroduction } from "../intro.js";
import { newestInteractions } from "./activity.js";
import { fetchOnce, section } from "./section.js";

const CONNECTORS = 4;

function tierPill(tier, score) {
  const known = tier && tier !== "none";
  return h("span", { class: `tier tier-${known ? tier : "none"}` },
    known ? `${capital(tier)} ${Math.round(score)}` : "No tie");
}

function summaryOf(explanation) {
  return typeof explanation === "string" ? explanation : explanation?.summary || "";
}

// A person's first name ("You and Jane"), or the whole name when its first word is no
// first name: "The New York Times Direct", "Mail: Natural Resources", "J. R. Smith", a name
// of one word or of more than four (seen on the Enron import as "Who knows The best").
const NOT_FIRST_NAMES = new Set(["the", "a", "an", "team", "dept", "office", "info"]);
function firstName(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "them";
  const first = words[0];
  const personal = words.length >= 2 && words.length <= 4
    && /^\p{L}[\p{L}'\u2019-]+$/u.test(first) && !NOT_FIRST_NAMES.has(first.toLowerCase());
  return personal ? first : words.join(" ");
}

export function strengthSection(person, context) {
  return section("You and " + firstName(nameOf(person)), async () => {
    const tie = await fetchOnce(context, `/people/${person.id}/strength`);
    if (!tie.tier || tie.tier === "none") {
      // Also true of someone I only met in mail to crowds: their rows show below, unscored.
      return h("p", {}, "No tie yet: only emails to 20 people or fewer and meetings of 25 or "
        + "fewer count toward one.");
    }
    const trend = Number(tie.trend);
    const newest = await newestInteractions(person, context).catch(() => null);
    return [
      h("div", { class: "row-head" }, tierPill(tie.tier, tie.score),
        Number.isFinite(trend) && trend !== 0 && h("span", { class: "muted" },
          `${trend > 0 ? "▲" : "▼"} ${Math.abs(Math.round(trend))} in 90 days`)),
      meter(tie.score, "Your relationship strength"),
      h("p", { class: "row-text" }, summaryOf(tie.explanation) || `Last contact ${when(tie.last_contact)}.`),
      uncountedNote(tie, newest),
    ];
  });
}

// Mail newer than the tie's last contact is mail that does not count toward it: to more than
// 20 people, or a meeting of more than 25 (Enron: Mark Haedicke's card said "last contact
// 22 September 2000" above five ISDA press reports from December 2001).
const SLACK_MS = 60 * 1000;
function uncountedNote(tie, newest) {
  const latest = newest?.items?.[0]?.occurred_at;
  if (!latest || !tie.last_contact) return null;
  if (Date.parse(latest) - Date.parse(tie.last_contact) <= SLACK_MS) return null;
  return h("p", { class: "row-text muted uncounted" },
    `Newer mail with them, listed below, went to more than 20 people or was a meeting of more `
    + `than 25: it does not count toward the tie.`);
}

export function connectorsSection(person, context) {
  return section("Who knows " + firstName(nameOf(person)) + " best", async () => {
    const found = await context.api.get(`/people/${person.id}/connectors${query({ limit: CONNECTORS })}`);
    if (!found.connectors?.length) return h("p", {}, "No one at the firm has a tie with them yet.");
    return h("ul", { class: "rows" }, found.connectors.map((c) => {
      const mine = c.colleague.id === context.me.colleague_id;
      // A colleague who only received their mail (the server's "heard from": a newsletter, cold
      // outreach; Enron's "The New York Times Direct" wrote to 19 colleagues) cannot introduce
      // anyone: no button.
      const oneWay = c.relation === "heard from";
      return h("li", {},
        h("div", { class: "row-head" },
          h("span", { class: "row-title" }, mine ? `${c.colleague.name} (you)` : c.colleague.name),
          tierPill(c.tier, c.score)),
        h("p", { class: "row-text" }, summaryOf(c.explanation)),
        !mine && oneWay && h("p", { class: "row-text muted one-way" },
          `${c.colleague.name} has never written to or met them: not one to ask for an introduction.`),
        !mine && !oneWay && h("div", { class: "actions" },
          h("button", {
            type: "button",
            class: "subtle",
            // The visible words first (WCAG 2.5.3), then who and to whom.
            "aria-label": `Ask for an introduction, via ${c.colleague.name}, to ${nameOf(person)}`,
            onclick: (event) => draftIntroduction(event.currentTarget, c, person, context),
          }, "Ask for an introduction")));
    }));
  });
}

export function companySection(person, context) {
  const company = person.company;
  return section(`${company.name} coverage`, async () => {
    const found = await context.api.get(`/companies/${company.id}/coverage${query({ limit: 3 })}`);
    const trend = Number(found.trend);
    const best = found.best_connector;
    return [
      h("div", { class: "row-head" },
        h("span", { class: "row-title" }, `${Math.round(found.coverage)} / 100`),
        Number.isFinite(trend) && Math.round(trend) !== 0 && h("span", { class: "muted" },
          `${trend > 0 ? "▲" : "▼"} ${Math.abs(Math.round(trend))} in 90 days`)),
      meter(found.coverage, "Company coverage"),
      h("p", { class: "row-text" },
        `${found.breadth.colleagues} ${found.breadth.colleagues === 1 ? "colleague knows" : "colleagues know"} `
        + `${found.breadth.contacts} ${found.breadth.contacts === 1 ? "person" : "people"} there well.`),
      found.single_threaded && h("p", { class: "badge badge-warn" }, "Single-threaded: one colleague holds the relationship"),
      best && h("p", { class: "row-text" }, `Best connector: ${best.colleague.name} (${best.tier}).`),
    ];
  });
}

export function pathsSection(person, context) {
  const start = h("button", { type: "button" }, "Find introduction paths");
  const wrap = h("section", { class: "section", "aria-label": "Introduction paths" },
    h("h3", { class: "section-title" }, "Paths to " + firstName(nameOf(person))), start);
  start.addEventListener("click", () => {
    wrap.replaceChildren(section("Paths to " + firstName(nameOf(person)), async () => {
      const found = await context.api.get(`/paths${query({ to: person.id })}`);
      if (!found.paths?.length) return h("p", {}, "No warm path within three hops.");
      return h("ol", { class: "rows" }, found.paths.map((path, index) => h("li", {},
        h("div", { class: "row-head" },
          h("span", { class: "row-title" }, `Path ${index + 1}`),
          h("span", { class: "muted" },
            path.score >= 1 ? `score ${Math.round(path.score)}` : "score below 1")),
        h("ol", { class: "path-hops" }, path.hops.map((hop) => h("li", { title: hop.summary || "" },
          `${nameOf(hop.to)} `, h("span", { class: "muted" }, `(${hop.relation}, ${hop.tier})`)))))));
    }));
    wrap.querySelector(".section-title")?.focus();
  });
  return wrap;
}

/** A 0-100 bar; its width is set through the CSSOM, which the pane's CSP allows. */
function meter(score, label) {
  const value = Math.max(0, Math.min(100, Number(score) || 0));
  const bar = h("span", {});
  bar.style.width = `${value}%`;
  return h("div", {
    class: "meter", role: "meter", "aria-label": label,
    "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(value),
  }, bar);
}
