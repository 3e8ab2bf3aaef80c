// OpenToken console: copy buttons, confirmations and the playground's streamed chat.
// Everything else works without JavaScript. No inline scripts: the page's CSP allows only this file.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "sr-only";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  return Promise.resolve();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  copyText(button.dataset.copy).then(() => {
    const note = button.querySelector(".copied");
    if (note) {
      note.hidden = false;
      setTimeout(() => { note.hidden = true; }, 1500);
    }
  });
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

function setupPlayground(root) {
  const conversation = document.getElementById("pg-conversation");
  const form = document.getElementById("pg-form");
  const message = document.getElementById("pg-message");
  const send = document.getElementById("pg-send");
  const stop = document.getElementById("pg-stop");
  const usageBox = document.getElementById("pg-usage");
  const errorBox = document.getElementById("pg-error");
  const settings = document.getElementById("pg-settings");
  let history = [];
  let controller = null;

  function turn(role, text) {
    const item = document.createElement("li");
    item.className = role;
    const label = document.createElement("span");
    label.className = "role";
    label.textContent = role === "user" ? conversation.dataset.you : conversation.dataset.assistant;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(label, body);
    conversation.appendChild(item);
    return body;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function showUsage(usage, rawCost, requestId) {
    const fields = {
      prompt_tokens: usage.prompt_tokens,
      cached_tokens: (usage.prompt_tokens_details || {}).cached_tokens || 0,
      completion_tokens: usage.completion_tokens,
      reasoning_tokens: (usage.completion_tokens_details || {}).reasoning_tokens || 0,
    };
    for (const [name, value] of Object.entries(fields)) {
      usageBox.querySelector(`[data-field="${name}"]`).textContent = Number(value).toLocaleString();
    }
    const cost = usageBox.querySelector('[data-field="cost"]');
    cost.textContent = rawCost === null ? "-" : "$" + rawCost;
    cost.dataset.value = rawCost === null ? "" : rawCost;
    const link = usageBox.querySelector('[data-field="request"]');
    link.textContent = requestId || "-";
    link.href = requestId ? "/console/requests/" + encodeURIComponent(requestId) : "#";
    usageBox.hidden = false;
  }

  function body(text) {
    const value = (name) => settings.elements[name].value.trim();
    const call = { model: value("model"), system: value("system"), messages: history.concat([{ role: "user", content: text }]) };
    if (value("temperature") !== "") call.temperature = Number(value("temperature"));
    if (value("max_tokens") !== "") call.max_tokens = Number(value("max_tokens"));
    call.reasoning_effort = value("reasoning_effort");
    return call;
  }

  async function run(text) {
    errorBox.hidden = true;
    usageBox.hidden = true;
    const call = body(text);
    turn("user", text);
    const out = turn("assistant", "");
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    let reply = "";
    try {
      const response = await fetch("/console/playground/chat", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": root.dataset.csrf },
        body: JSON.stringify(call),
        signal: controller.signal,
        credentials: "same-origin",
      });
      const requestId = response.headers.get("x-request-id");
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        showError(((problem.error || {}).message) || response.statusText);
        out.parentElement.remove();
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of frame.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) { showError(chunk.error.message); continue; }
            const delta = ((chunk.choices || [])[0] || {}).delta || {};
            if (delta.content) { reply += delta.content; out.textContent = reply; }
            if (chunk.usage) {
              const match = data.match(/"cost":(-?[0-9.eE+-]+)/);
              showUsage(chunk.usage, match ? match[1] : null, requestId);
            }
          }
        }
      }
      history = call.messages.concat([{ role: "assistant", content: reply }]);
    } catch (error) {
      if (error.name !== "AbortError") showError(String(error));
    } finally {
      send.disabled = false;
      stop.disabled = true;
      controller = null;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = message.value.trim();
    if (!text || controller) return;
    message.value = "";
    run(text);
  });
  stop.addEventListener("click", () => { if (controller) controller.abort(); });
  document.getElementById("pg-reset").addEventListener("click", () => {
    history = [];
    conversation.replaceChildren();
    usageBox.hidden = true;
    errorBox.hidden = true;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("playground");
  if (root) setupPlayground(root);
});
