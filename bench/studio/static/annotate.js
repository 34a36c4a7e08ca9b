// The annotate page: show the current pair, answer by button or key (1/0 or the grades, s, u).
// Actions run one after the other (a promise chain), so fast typing never answers the wrong pair.
"use strict";

(() => {
  const { api, say } = Studio;
  const $ = (id) => document.getElementById(id);
  const answerButtons = [...document.querySelectorAll("button[data-label]")];
  const grades = new Set(answerButtons.map((b) => b.dataset.label));
  let state = null;
  let chain = Promise.resolve();

  function render(next) {
    state = next;
    const p = next.progress;
    $("progress").textContent = `${p.judged} judged · ${p.skipped} skipped · ${p.left} left`;
    const pair = next.pair;
    for (const button of answerButtons) button.disabled = !pair;
    $("skip").disabled = !pair;
    if (!pair) {
      $("task-project").textContent = "All pairs are judged.";
      $("task-text").textContent = "Thank you! Undo to change your last answer.";
      $("employee-id").textContent = "";
      $("aspects").replaceChildren();
      return;
    }
    $("task-project").textContent = pair.task.project;
    $("task-text").textContent = pair.task.task;
    $("employee-id").textContent = pair.employee.id;
    $("aspects").replaceChildren(...Studio.profile(pair.employee).childNodes);
  }

  function run(action) {
    chain = chain.then(action).catch((error) => {
      say(error.message, true);
      if (error.status === 409) return refresh();
      return undefined;
    });
    return chain;
  }

  const refresh = () => api("GET", "/api/annotate/state").then(render);

  function answer(label) {
    return run(async () => {
      if (!state || !state.pair) return;
      render(await api("POST", "/api/annotate/answer", { pair: state.pair.id, label }));
      say("");
    });
  }

  function skip() {
    return run(async () => {
      if (!state || !state.pair) return;
      render(await api("POST", "/api/annotate/skip", { pair: state.pair.id }));
      say("Skipped.");
    });
  }

  function undo() {
    return run(async () => {
      const next = await api("POST", "/api/annotate/undo", {});
      render(next);
      say(next.undone ? "Undone: the pair is shown again." : "Nothing to undo.");
    });
  }

  for (const button of answerButtons) button.addEventListener("click", () => answer(Number(button.dataset.label)));
  $("skip").addEventListener("click", skip);
  $("undo").addEventListener("click", undo);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    const key = event.key.toLowerCase();
    if (grades.has(key)) answer(Number(key));
    else if (key === "s") skip();
    else if (key === "u") undo();
    else return;
    event.preventDefault();
  });
  run(refresh);
})();
