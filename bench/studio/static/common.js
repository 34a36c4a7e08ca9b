// Shared helpers of the label studio pages: JSON calls with the CSRF token, safe DOM building.
// Every text from the data goes through textContent (never innerHTML), so it shows as text.
"use strict";

const Studio = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body === undefined ? {} : body);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      let text = "Request failed (HTTP " + response.status + ")";
      if (data && data.error) text = data.error + (data.fix ? " — " + data.fix : "");
      const error = new Error(text);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // el("dt", {class: "x"}, "text", child): an element with attributes and text or element children.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function say(text, isError) {
    const box = document.getElementById("message");
    box.textContent = text || "";
    box.classList.toggle("error", Boolean(isError));
  }

  // The profile of an employee as a definition list: aspect name, then its text in full.
  function profile(employee) {
    const list = el("dl", { class: "aspects" });
    for (const [aspect, text] of employee.aspects) list.append(el("dt", {}, aspect), el("dd", {}, text));
    return list;
  }

  return { api, el, say, profile };
})();
