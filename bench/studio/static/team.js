// The team builder: a project, its tasks (loaded, split or typed), the proposed team, and for
// each pick accept (relevant) or replace (the replaced person not relevant, the new one relevant).
"use strict";

(() => {
  const { api, el, say, profile } = Studio;
  const $ = (id) => document.getElementById(id);
  const list = $("tasks");

  function addRow(text) {
    const input = el("input", { type: "text", class: "task-input", maxlength: "2000", "aria-label": "Task" });
    input.value = text || "";
    const remove = el("button", { type: "button", class: "remove", "aria-label": "Remove task", title: "Remove" }, "×");
    const row = el("li", { "data-testid": "task-row" }, input, remove);
    remove.addEventListener("click", () => row.remove());
    list.append(row);
    return input;
  }

  function setTasks(texts) {
    list.replaceChildren();
    for (const text of texts) addRow(text);
    if (!texts.length) addRow("");
  }

  async function loadProject() {
    const name = $("project").value.trim();
    if (!name) return;
    const answer = await api("GET", "/api/team/tasks?project=" + encodeURIComponent(name));
    const typed = taskTexts();
    const known = answer.tasks.map((t) => t.task).filter((t) => !typed.includes(t));
    if (!typed.length) setTasks(known);
    else for (const text of known) addRow(text);
    if (known.length) say(`Loaded ${known.length} task(s) of ${name}; edit, remove or add tasks.`);
  }

  const taskTexts = () => [...list.querySelectorAll("input.task-input")].map((i) => i.value.trim()).filter(Boolean);

  async function split() {
    const answer = await api("POST", "/api/team/split", { text: $("description").value });
    setTasks(answer.tasks);
    say(`Split into ${answer.tasks.length} task(s); edit them before proposing.`);
  }

  async function propose() {
    const tasks = taskTexts();
    if (!$("project").value.trim() || !tasks.length) {
      say("Enter a project name and at least one task.", true);
      return;
    }
    say("Proposing a team…");
    const team = await api("POST", "/api/team/propose", { project: $("project").value, tasks });
    $("team-meta").textContent = `${team.project} · system ${team.system} · solver ${team.solver} · objective ${team.objective}`;
    const rows = [];
    for (const task of team.tasks) for (const pick of task.picks) rows.push(teamRow(task, pick));
    $("team-rows").replaceChildren(...rows);
    say(rows.length ? "Accept or replace each pick." : "The system proposed nobody for these tasks.");
  }

  // The first aspect (the role, in the data's order), shown above the collapsed full profile.
  const summary = (employee) => (employee.aspects.length ? employee.aspects[0][1] : "");

  function explain(pick) {
    const parts = pick.explanation.map(([aspect, rank, score]) => `${aspect} #${rank} (${score.toFixed(3)})`);
    return `fused score ${pick.fused_score.toFixed(3)}` + (parts.length ? " · " + parts.join(" · ") : "");
  }

  function teamRow(task, pick) {
    let current = pick.employee.id;
    const who = el("h3", {}, pick.employee.id);
    const role = el("p", { class: "role" }, summary(pick.employee));
    const person = el("details", { class: "person" }, el("summary", {}, "Full profile"), profile(pick.employee));
    const why = el("p", { class: "why dim" }, explain(pick));
    const choice = el("select", { "data-testid": "replacement", "aria-label": "Replacement" });
    choice.append(el("option", { value: "" }, "Replace with…"));
    for (const alt of task.next) {
      if (alt.employee.id === current) continue;
      const label = `${alt.employee.id} (${alt.fused_score.toFixed(3)}) ${summary(alt.employee)}`;
      choice.append(el("option", { value: alt.employee.id }, label));
    }
    const accept = el("button", { type: "button", class: "answer yes", "data-testid": "accept" }, "Accept");
    const replace = el("button", { type: "button", class: "secondary", "data-testid": "replace" }, "Replace");
    const status = el("span", { class: "status", "data-testid": "team-status" });
    const displaced = task.displaced
      ? el("p", { class: "dim" }, `${task.displaced.employee_id} fitted too but is taken by task ${task.displaced.taken_by}.`)
      : null;
    const row = el("article", { class: "card team-row", "data-testid": "team-row", "data-task": task.task_id },
      el("p", { class: "task-text" }, el("span", { class: "key" }, "Task"), " ", task.text),
      who, role, why, person, displaced, el("div", { class: "actions" }, accept, choice, replace, status));

    accept.addEventListener("click", async () => {
      try {
        await api("POST", "/api/team/judge", { task_id: task.task_id, employee_id: current, action: "accept" });
        status.textContent = `Accepted ${current}`;
        row.classList.add("accepted");
      } catch (error) { say(error.message, true); }
    });
    replace.addEventListener("click", async () => {
      const replacement = choice.value;
      if (!replacement) { say("Choose a replacement first.", true); return; }
      try {
        await api("POST", "/api/team/judge",
          { task_id: task.task_id, employee_id: current, action: "replace", replacement });
        const alt = task.next.find((n) => n.employee.id === replacement);
        status.textContent = `Replaced ${current} by ${replacement}`;
        current = replacement;
        who.textContent = replacement;
        why.textContent = `fused score ${alt.fused_score.toFixed(3)} · your choice`;
        role.textContent = summary(alt.employee);
        person.replaceChildren(el("summary", {}, "Full profile"), profile(alt.employee));
        row.classList.add("accepted");
      } catch (error) { say(error.message, true); }
    });
    return row;
  }

  const guard = (fn) => () => fn().catch((error) => say(error.message, true));
  $("project").addEventListener("change", guard(loadProject));
  $("split").addEventListener("click", guard(split));
  $("add-task").addEventListener("click", () => addRow("").focus());
  $("propose").addEventListener("click", guard(propose));
  setTasks([]);
})();
